// The page's main thread: starts the app worker and keeps its answer for the test.
const worker = new Worker('app.js', { type: 'module' });
worker.onmessage = (e) => { globalThis.__lrp = e.data; };
worker.onerror = (e) => { globalThis.__lrp = { error: `worker error: ${e.message}` }; };
