// The HTTP API of SPEC section 4 over uWebSockets.js: the routes, and for each
// the order in which a request is judged — route and method (404/405),
// readiness (503), token and scope (401/403), path and query ids (400), body
// media type and size (415/413), body schema (400), then the engine. Auth
// comes before anything about the body, so a client without rights learns
// nothing from validation errors.
//
// Routing: uWS matches only fixed prefixes (`/v1/availability/*`), and this
// module parses the rest of the raw URL itself. Ids may contain an encoded
// slash (%2F) or any other byte sequence; uWS hands over the URL undecoded, so
// a raw "/" always separates segments and decodeURIComponent is applied to one
// segment at a time.
//
// Reads answer synchronously inside the uWS handler (already corked). Writes
// await the engine (durable on disk); their reply is corked and dropped when
// the client has gone (see respond.ts).

import uWS from "uWebSockets.js";
import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import type { Engine, EngineReply, ReservationMove } from "../engine/types.js";
import { registry } from "../metrics.js";
import { authorize, type Scope, type TokenTable } from "./auth.js";
import { BODY_MAX_BYTES_DEFAULT, bodyFormat, checkDeclaredLength, readBody, wantsMsgpack } from "./body.js";
import {
  InvalidRequestError,
  MethodNotAllowedError,
  NotFoundError,
  NotReadyError,
} from "./errors.js";
import { LOCATION_BYTES_MAX, RESERVATION_ID_BYTES_MAX, SKU_BYTES_MAX, idProblem } from "./ids.js";
import { buildOpenApi } from "./openapi.js";
import {
  Exchange,
  RouteMetrics,
  errorBody,
  fail,
  failLater,
  send,
  sendLater,
  sendText,
} from "./respond.js";
import {
  checkChannelId,
  checkChannelPatch,
  checkHold,
  checkLocationPatch,
  checkQuery,
  checkStockAdjust,
  checkStockSet,
} from "./schemas.js";

export interface ServerOptions {
  host: string;
  port: number; // 0 = ephemeral
  bodyMaxBytes: number; // OMNISTOCK_BODY_MAX, default 16 MiB
  tokens: TokenTable | null; // null = open (no auth)
  /** Registers further routes (the WebSocket stream) on the same app before listening. */
  mount?: (app: TemplatedApp) => void;
  /** The /metrics text; by default this thread's registry (an HTTP worker asks the writer for every thread's). */
  metricsText?: () => Promise<string>;
}

export interface RunningServer {
  port: number;
  /** Closes the listen socket only: connections already open keep being served (shutdown, step 1). */
  stopListening(): void;
  /** Closes the listen socket and every connection still open. */
  close(): void;
}

export { BODY_MAX_BYTES_DEFAULT };

// Route templates: the `route` label of the metrics, one RouteMetrics each.
const R = {
  availabilitySku: new RouteMetrics("/v1/availability/:sku"),
  availabilityQuery: new RouteMetrics("/v1/availability/query"),
  stock: new RouteMetrics("/v1/stock"),
  stockAdjust: new RouteMetrics("/v1/stock/adjust"),
  reservations: new RouteMetrics("/v1/reservations"),
  reservation: new RouteMetrics("/v1/reservations/:id"),
  commit: new RouteMetrics("/v1/reservations/:id/commit"),
  release: new RouteMetrics("/v1/reservations/:id/release"),
  fulfill: new RouteMetrics("/v1/reservations/:id/fulfill"),
  locations: new RouteMetrics("/v1/locations"),
  location: new RouteMetrics("/v1/locations/:id"),
  channels: new RouteMetrics("/v1/channels"),
  channel: new RouteMetrics("/v1/channels/:id"),
  healthz: new RouteMetrics("/healthz"),
  readyz: new RouteMetrics("/readyz"),
  metrics: new RouteMetrics("/metrics"),
  openapi: new RouteMetrics("/openapi.json"),
} as const;

const PREFIX_AVAILABILITY = "/v1/availability/";
const PREFIX_RESERVATIONS = "/v1/reservations/";
const PREFIX_LOCATIONS = "/v1/locations/";
const PREFIX_CHANNELS = "/v1/channels/";

const MOVE_ROUTES: Record<string, RouteMetrics> = { commit: R.commit, release: R.release, fulfill: R.fulfill };

// uWS hands over the request target decoded as UTF-8, with U+FFFD for bytes
// that are not; a raw U+FFFD is never valid anyway (a target is ASCII, and
// an id holding U+FFFD arrives as %EF%BF%BD).
const REPLACEMENT = "\uFFFD";
const MESSAGE_RAW_NOT_UTF8 = "not valid UTF-8 (send ids percent-encoded)";

/**
 * One path segment as an id: 404 when `raw` holds a raw "/" (more segments
 * than the template has), else percent-decoded and checked against the SPEC's
 * id rules (400 naming `field`).
 */
function pathId(raw: string, field: string, bytesMax: number): string {
  if (raw.indexOf(REPLACEMENT) !== -1) throw new InvalidRequestError(`${field}: ${MESSAGE_RAW_NOT_UTF8}`);
  let id = raw;
  if (raw.indexOf("%") !== -1) {
    try {
      id = decodeURIComponent(raw);
    } catch {
      throw new InvalidRequestError(`${field}: malformed percent-encoding in the path`);
    }
  }
  const problem = idProblem(id, bytesMax);
  if (problem !== null) throw new InvalidRequestError(`${field}: ${problem}`);
  return id;
}

/**
 * The first value of parameter `name` in a raw query string, or null when
 * absent. Decoded as a form would be ("+" is a space, then percent-decoding),
 * but strictly: URLSearchParams turns bytes that are not UTF-8 into U+FFFD,
 * which would let an invalid id through as a different, valid one.
 */
function queryParam(query: string, name: string): string | null {
  let from = 0;
  while (from <= query.length) {
    let end = query.indexOf("&", from);
    if (end === -1) end = query.length;
    const equals = query.indexOf("=", from);
    const nameEnd = equals === -1 || equals > end ? end : equals;
    if (queryNameIs(query.slice(from, nameEnd), name)) {
      return nameEnd === end ? "" : decodeQueryPart(query.slice(nameEnd + 1, end), name);
    }
    from = end + 1;
  }
  return null;
}

/** Whether a raw parameter name spells `name` (a malformed one spells nothing). */
function queryNameIs(raw: string, name: string): boolean {
  if (raw === name) return true;
  if (raw.indexOf("%") === -1 && raw.indexOf("+") === -1) return false;
  try {
    return decodeQueryPart(raw, name) === name;
  } catch {
    return false;
  }
}

function decodeQueryPart(raw: string, field: string): string {
  if (raw.indexOf(REPLACEMENT) !== -1) throw new InvalidRequestError(`${field}: ${MESSAGE_RAW_NOT_UTF8}`);
  const spaced = raw.indexOf("+") === -1 ? raw : raw.replace(/\+/g, " ");
  if (spaced.indexOf("%") === -1) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw new InvalidRequestError(`${field}: malformed percent-encoding or not UTF-8 in the query`);
  }
}

function queryId(value: string, field: string, bytesMax: number): string {
  const problem = idProblem(value, bytesMax);
  if (problem !== null) throw new InvalidRequestError(`${field}: ${problem}`);
  return value;
}

/** Bound to one engine and one set of options; its handlers are created once, not per request. */
class HttpApi {
  private readonly openApiJson: string;

  constructor(
    private readonly engine: Engine,
    private readonly tokens: TokenTable | null,
    private readonly bodyMaxBytes: number,
    private readonly metricsText: () => Promise<string>,
  ) {
    this.openApiJson = JSON.stringify(buildOpenApi());
  }

  register(app: TemplatedApp): void {
    app.any("/v1/availability/*", this.onAvailability);
    app.any("/v1/stock", this.onStock);
    app.any("/v1/stock/adjust", this.onStockAdjust);
    app.any("/v1/reservations", this.onReservations);
    app.any("/v1/reservations/*", this.onReservation);
    app.any("/v1/locations", this.onLocations);
    app.any("/v1/locations/*", this.onLocation);
    app.any("/v1/channels", this.onChannels);
    app.any("/v1/channels/*", this.onChannel);
    app.any("/healthz", this.onHealthz);
    app.any("/readyz", this.onReadyz);
    app.any("/metrics", this.onMetrics);
    app.any("/openapi.json", this.onOpenApi);
  }

  /** The catch-all: no route has this path. */
  readonly onUnmatched = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    fail(ex, new NotFoundError(`no route for ${req.getUrl()}`));
  };

  // ------------------------------------------------------------ shared steps

  /** Readiness, then token and scope: 503, 401, 403 before anything else is looked at. */
  private gate(req: HttpRequest, scope: Scope): void {
    if (!this.engine.isReady()) throw new NotReadyError();
    if (this.tokens === null) return; // open: no header to read (each read is a call into uWS)
    const denied = authorize(this.tokens, req.getHeader("authorization"), scope);
    if (denied !== null) throw denied;
  }

  /**
   * Checks the body's media type and declared size, then reads, decodes and
   * hands it to `run`, answering whatever `run` resolves to. Must run in the
   * handler's synchronous part.
   */
  private withBody(
    ex: Exchange,
    req: HttpRequest,
    id: string,
    run: (value: unknown, id: string) => Promise<EngineReply>,
  ): void {
    const format = bodyFormat(ex.contentType);
    checkDeclaredLength(req.getHeader("content-length"), this.bodyMaxBytes);
    ex.keepAlive();
    readBody(
      ex,
      this.bodyMaxBytes,
      format,
      (value) => {
        let pending: Promise<EngineReply>;
        try {
          pending = run(value, id);
        } catch (error) {
          failLater(ex, error); // a 400 from the request's schema, thrown before any promise
          return;
        }
        this.later(ex, pending);
      },
      (error) => failLater(ex, error),
    );
  }

  /** Answers an engine write once it is durable. */
  private later(ex: Exchange, pending: Promise<EngineReply>): void {
    ex.keepAlive();
    // One reaction, not .then().catch() (every write passes here): the
    // fulfilled path catches its own failure while writing the reply (an
    // unencodable body), since an unhandled rejection would end the process.
    pending.then(
      (reply) => {
        try {
          sendLater(ex, reply);
        } catch (error) {
          failLater(ex, error);
        }
      },
      (error: unknown) => failLater(ex, error),
    );
  }

  /** Answers a read now, or once the writer's thread has answered it (HTTP workers). */
  private answer(ex: Exchange, reply: EngineReply | Promise<EngineReply>): void {
    if (reply instanceof Promise) this.later(ex, reply);
    else send(ex, reply.status, reply.body, null, reply.json);
  }

  // ------------------------------------------------------------ availability

  private readonly onAvailability = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    try {
      const method = ex.method;
      const rest = req.getUrl().slice(PREFIX_AVAILABILITY.length);
      if (rest === "query") {
        // "query" is also a valid SKU: GET reads it, POST is the batch query.
        if (method === "post") return this.availabilityQuery(ex, req);
        ex.route = R.availabilityQuery;
        if (method !== "get") throw new MethodNotAllowedError(method, "GET, POST");
      }
      if (rest.indexOf("/") !== -1) throw new NotFoundError(`no route for ${req.getUrl()}`);
      ex.route = R.availabilitySku;
      if (method !== "get") throw new MethodNotAllowedError(method, "GET");
      this.gate(req, "read");
      const sku = pathId(rest, "sku", SKU_BYTES_MAX);
      const reply = this.readAvailability(sku, req.getQuery());
      send(ex, reply.status, reply.body, null, reply.json);
    } catch (error) {
      fail(ex, error);
    }
  };

  private readAvailability(sku: string, query: string | undefined): EngineReply {
    if (!query) return this.engine.availabilityAll(sku);
    const location = queryParam(query, "location");
    const channel = queryParam(query, "channel");
    if (location !== null) {
      if (channel !== null) throw new InvalidRequestError("location, channel: give at most one of them");
      return this.engine.availabilityAt(sku, queryId(location, "location", LOCATION_BYTES_MAX));
    }
    if (channel !== null) return this.engine.availabilityForChannel(sku, checkChannelId(channel, "channel"));
    return this.engine.availabilityAll(sku);
  }

  private availabilityQuery(ex: Exchange, req: HttpRequest): void {
    ex.route = R.availabilityQuery;
    this.gate(req, "read");
    this.withBody(ex, req, "", this.runQuery);
  }

  // Reads answer synchronously; the promise only fits the withBody signature.
  private readonly runQuery = (value: unknown): Promise<EngineReply> =>
    Promise.resolve(this.engine.query(checkQuery(value)));

  // ------------------------------------------------------------ stock

  private readonly onStock = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    ex.route = R.stock;
    try {
      const method = ex.method;
      if (method !== "post") throw new MethodNotAllowedError(method, "POST");
      this.gate(req, "write");
      this.withBody(ex, req, "", this.runStockSet);
    } catch (error) {
      fail(ex, error);
    }
  };

  private readonly runStockSet = (value: unknown): Promise<EngineReply> =>
    this.engine.setStock(checkStockSet(value).items);

  private readonly onStockAdjust = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    ex.route = R.stockAdjust;
    try {
      const method = ex.method;
      if (method !== "post") throw new MethodNotAllowedError(method, "POST");
      this.gate(req, "write");
      this.withBody(ex, req, "", this.runStockAdjust);
    } catch (error) {
      fail(ex, error);
    }
  };

  // `reason` is accepted for the caller's audit trail but not part of the
  // ledger's item, so it is dropped here.
  private readonly runStockAdjust = (value: unknown): Promise<EngineReply> =>
    this.engine.adjustStock(
      checkStockAdjust(value).items.map((item) => ({ sku: item.sku, location: item.location, delta: item.delta })),
    );

  // ------------------------------------------------------------ reservations

  private readonly onReservations = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    ex.route = R.reservations;
    try {
      const method = ex.method;
      if (method !== "post") throw new MethodNotAllowedError(method, "POST");
      this.gate(req, "reserve");
      this.withBody(ex, req, "", this.runHold);
    } catch (error) {
      fail(ex, error);
    }
  };

  private readonly runHold = (value: unknown): Promise<EngineReply> => this.engine.hold(checkHold(value));

  private readonly onReservation = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    try {
      const method = ex.method;
      const rest = req.getUrl().slice(PREFIX_RESERVATIONS.length);
      const slash = rest.indexOf("/");
      if (slash === -1) {
        ex.route = R.reservation;
        if (method !== "get") throw new MethodNotAllowedError(method, "GET");
        this.gate(req, "read");
        this.answer(ex, this.engine.getReservation(pathId(rest, "id", RESERVATION_ID_BYTES_MAX)));
        return;
      }
      const move = rest.slice(slash + 1);
      const route = MOVE_ROUTES[move];
      if (route === undefined || !Object.hasOwn(MOVE_ROUTES, move)) {
        throw new NotFoundError(`no route for ${req.getUrl()}`);
      }
      ex.route = route;
      if (method !== "post") throw new MethodNotAllowedError(method, "POST");
      this.gate(req, "reserve");
      const id = pathId(rest.slice(0, slash), "id", RESERVATION_ID_BYTES_MAX);
      // Moves take no body; one sent anyway is ignored (uWS discards it).
      this.later(ex, this.engine.move(id, move as ReservationMove));
    } catch (error) {
      fail(ex, error);
    }
  };

  // ------------------------------------------------------------ configuration

  private readonly onLocations = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    ex.route = R.locations;
    try {
      const method = ex.method;
      if (method !== "get") throw new MethodNotAllowedError(method, "GET");
      this.gate(req, "read");
      this.answer(ex, this.engine.listLocations());
    } catch (error) {
      fail(ex, error);
    }
  };

  private readonly onLocation = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    try {
      const method = ex.method;
      const rest = req.getUrl().slice(PREFIX_LOCATIONS.length);
      if (rest.indexOf("/") !== -1) throw new NotFoundError(`no route for ${req.getUrl()}`);
      ex.route = R.location;
      if (method !== "put") throw new MethodNotAllowedError(method, "PUT");
      this.gate(req, "admin");
      this.withBody(ex, req, pathId(rest, "id", LOCATION_BYTES_MAX), this.runPutLocation);
    } catch (error) {
      fail(ex, error);
    }
  };

  private readonly runPutLocation = (value: unknown, id: string): Promise<EngineReply> =>
    this.engine.putLocation(id, checkLocationPatch(value));

  private readonly onChannels = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    ex.route = R.channels;
    try {
      const method = ex.method;
      if (method !== "get") throw new MethodNotAllowedError(method, "GET");
      this.gate(req, "read");
      this.answer(ex, this.engine.listChannels());
    } catch (error) {
      fail(ex, error);
    }
  };

  private readonly onChannel = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    try {
      const method = ex.method;
      const rest = req.getUrl().slice(PREFIX_CHANNELS.length);
      if (rest.indexOf("/") !== -1) throw new NotFoundError(`no route for ${req.getUrl()}`);
      ex.route = R.channel;
      if (method !== "put") throw new MethodNotAllowedError(method, "PUT");
      this.gate(req, "admin");
      // Channel ids are plain ASCII; a percent-escape can only spell a bad one.
      let id = rest;
      if (rest.indexOf("%") !== -1) {
        try {
          id = decodeURIComponent(rest);
        } catch {
          throw new InvalidRequestError("id: malformed percent-encoding in the path");
        }
      }
      this.withBody(ex, req, checkChannelId(id, "id"), this.runPutChannel);
    } catch (error) {
      fail(ex, error);
    }
  };

  private readonly runPutChannel = (value: unknown, id: string): Promise<EngineReply> =>
    this.engine.putChannel(id, checkChannelPatch(value));

  // ------------------------------------------------------------ operations (open, no token)

  private readonly onHealthz = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    ex.route = R.healthz;
    try {
      const method = ex.method;
      if (method !== "get") throw new MethodNotAllowedError(method, "GET");
      send(ex, 200, { status: "ok" });
    } catch (error) {
      fail(ex, error);
    }
  };

  private readonly onReadyz = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    ex.route = R.readyz;
    try {
      const method = ex.method;
      if (method !== "get") throw new MethodNotAllowedError(method, "GET");
      if (this.engine.isReady()) send(ex, 200, { status: "ready" });
      else send(ex, 503, errorBody("not_ready", "the engine is recovering; retry shortly"));
    } catch (error) {
      fail(ex, error);
    }
  };

  private readonly onMetrics = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    ex.route = R.metrics;
    try {
      const method = ex.method;
      if (method !== "get") throw new MethodNotAllowedError(method, "GET");
      ex.keepAlive();
      this.metricsText()
        .then((text) => {
          if (!ex.aborted) ex.res.cork(() => sendText(ex, 200, registry.contentType, text));
        })
        .catch((error: unknown) => failLater(ex, error));
    } catch (error) {
      fail(ex, error);
    }
  };

  private readonly onOpenApi = (res: HttpResponse, req: HttpRequest): void => {
    const ex = begin(res, req);
    ex.route = R.openapi;
    try {
      const method = ex.method;
      if (method !== "get") throw new MethodNotAllowedError(method, "GET");
      sendText(ex, 200, "application/json", this.openApiJson);
    } catch (error) {
      fail(ex, error);
    }
  };
}

/** Starts the exchange of one request: its start time and the format of its answer. */
function begin(res: HttpResponse, req: HttpRequest): Exchange {
  const contentType = req.getHeader("content-type");
  return new Exchange(res, req.getMethod(), contentType, wantsMsgpack(contentType, req.getHeader("accept")), performance.now());
}

/** Serves `engine` over HTTP; resolves once listening (on an ephemeral port when `options.port` is 0). */
export function startHttpServer(engine: Engine, options: ServerOptions): Promise<RunningServer> {
  const metricsText = options.metricsText ?? (() => registry.metrics());
  const api = new HttpApi(engine, options.tokens, options.bodyMaxBytes > 0 ? options.bodyMaxBytes : BODY_MAX_BYTES_DEFAULT, metricsText);
  const app = uWS.App();
  api.register(app);
  if (options.mount !== undefined) options.mount(app);
  app.any("/*", api.onUnmatched);
  return new Promise<RunningServer>((resolve, reject) => {
    app.listen(options.host, options.port, (socket) => {
      if (socket === false) {
        (app as unknown as { close?: () => void }).close?.(); // an open app would outlive a worker thread
        reject(new Error(`omnistock http: cannot listen on ${options.host}:${options.port}`));
        return;
      }
      let open = true;
      let listening = true;
      const running: RunningServer = {
        port: uWS.us_socket_local_port(socket as unknown as uWS.us_socket),
        stopListening(): void {
          if (!listening) return;
          listening = false;
          uWS.us_listen_socket_close(socket);
        },
        close(): void {
          running.stopListening();
          if (!open) return;
          open = false;
          // uWS 20.30 also has app.close() (not in its typings): it closes every connection.
          (app as unknown as { close?: () => void }).close?.();
        },
      };
      resolve(running);
    });
  });
}
