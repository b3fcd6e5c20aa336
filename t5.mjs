let t=performance.now();
await import('./dist/test/process/main.mjs').catch(()=>{});
