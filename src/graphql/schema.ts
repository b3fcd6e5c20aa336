import { builder } from './builder.js';
import './customer.js';
import './settings.js';
import './setting-mutations.js';
import './api-key.js';
import './event.js';

export const schema = builder.toSchema({ sortSchema: true });
