// The two ways a gateway runs: embedded (a sink of the in-process bus publishes payloads; `snap-engine demo --serve`)
// and on Kafka (the signals topic; `snap-engine gateway`). Same server, same broadcaster, same dashboard.
import type { Config, LevelPhysicsPayload } from '@snap/core';
import { readSecret, type Logger } from '@snap/platform';
import { LevelBroadcaster } from './broadcaster';
import { KafkaSignalsSource } from './kafka-source';
import { startGatewayServer, type GatewayServer } from './server';

/** An EmbeddedSink (services/processor runEmbedded) that broadcasts every payload; structural, so no import cycle. */
export class BroadcastSink {
  payloads = 0;
  constructor(private readonly broadcaster: LevelBroadcaster) {}

  onPayload(p: LevelPhysicsPayload): void {
    this.payloads++;
    this.broadcaster.publish(p);
  }

  /** End of input: the server keeps showing the last payload (and says the feed ended); closing it is the caller's decision. */
  close(): void {
    this.broadcaster.ended = true;
  }
}

export interface GatewayListen {
  cfg: Config;
  log: Logger;
  /** Overrides gateway.port (0 = any free port). */
  port?: number;
  host?: string;
}

export interface EmbeddedGateway {
  server: GatewayServer;
  broadcaster: LevelBroadcaster;
  sink: BroadcastSink;
  stop(): Promise<void>;
}

export async function startEmbeddedGateway(opts: GatewayListen): Promise<EmbeddedGateway> {
  const broadcaster = new LevelBroadcaster({ maxBufferedBytes: opts.cfg.gateway.max_buffered_bytes, historyMinutes: opts.cfg.gateway.history_minutes });
  const sink = new BroadcastSink(broadcaster);
  const server = await startGatewayServer({
    port: opts.port ?? opts.cfg.gateway.port,
    host: opts.host ?? opts.cfg.gateway.host,
    broadcaster,
    log: opts.log,
    health: () => ({ ok: true, source: 'embedded', payloads: sink.payloads }),
    token: readSecret(opts.cfg.gateway.token, opts.cfg.gateway.token_file, 'gateway.token'),
  });
  return { server, broadcaster, sink, stop: () => server.close() };
}

export interface KafkaGateway {
  server: GatewayServer;
  broadcaster: LevelBroadcaster;
  source: KafkaSignalsSource;
  stop(): Promise<void>;
}

/**
 * Serves first (the dashboard shows "connecting" and /healthz reports `starting` while the consumer joins), then
 * starts the Kafka source; resolves once the source runs. A source that cannot start closes the server and throws.
 */
export async function startKafkaGateway(
  opts: GatewayListen & { fromBeginning?: boolean; groupId?: string; onListening?: (url: string) => void },
): Promise<KafkaGateway> {
  const broadcaster = new LevelBroadcaster({ maxBufferedBytes: opts.cfg.gateway.max_buffered_bytes, historyMinutes: opts.cfg.gateway.history_minutes });
  const source = new KafkaSignalsSource({ cfg: opts.cfg, log: opts.log, publish: (p) => broadcaster.publish(p), fromBeginning: opts.fromBeginning, groupId: opts.groupId });
  const server = await startGatewayServer({
    port: opts.port ?? opts.cfg.gateway.port,
    host: opts.host ?? opts.cfg.gateway.host,
    broadcaster,
    log: opts.log,
    health: () => source.health(),
    token: readSecret(opts.cfg.gateway.token, opts.cfg.gateway.token_file, 'gateway.token'),
  });
  opts.onListening?.(server.url);
  try {
    await source.start();
  } catch (e) {
    await server.close();
    await source.stop();
    throw e;
  }
  return {
    server,
    broadcaster,
    source,
    async stop() {
      await source.stop();
      await server.close();
    },
  };
}
