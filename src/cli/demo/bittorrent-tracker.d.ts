// The one entry point of `bittorrent-tracker` btda uses: its server (the demo's embedded tracker).
// Loosely typed on purpose: src/cli/demo/tracker.ts names the few members it touches.
declare module 'bittorrent-tracker/server' {
  const Server: new (opts?: Record<string, unknown>) => any;
  export default Server;
}
