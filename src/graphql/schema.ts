import { builder } from './builder.js';
import './customer.js';
import './settings.js';
import './api-key.js';

export const schema = builder.toSchema({ sortSchema: true });
