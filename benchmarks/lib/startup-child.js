// One service of benchmarks/startup.js: `bare` (Express) or `keel` (Express + startTelemetry() + keel()),
// started from nothing in its own process. It tells the parent its port over IPC, serves one request and
// reports its peak resident set size; the parent times process start to that first response.
const variant = process.argv[2];
const { default: express } = await import('express');
const app = express();
let telemetry;
if (variant === 'keel') {
  const { startTelemetry } = await import('@keel/telemetry');
  const { keel } = await import('@keel/express');
  telemetry = startTelemetry({ serviceName: 'startup' });
  app.use(keel({ telemetry }));
}
app.get('/orders/:id', (req, res) => {
  res.once('finish', () => {
    // maxRSS is in KiB.
    process.send({ peakRssBytes: process.resourceUsage().maxRSS * 1024 }, () => {
      server.close();
      void telemetry?.shutdown();
      process.disconnect();
    });
  });
  res.json({ id: req.params.id, status: 'shipped' });
});
const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
