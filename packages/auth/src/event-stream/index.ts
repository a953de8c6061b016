export {
  createEventStreamParser,
  type EventStreamParserHooks,
  type ServerSentEvent,
} from "./event-stream-parser.js";
export {
  createFetchEventSource,
  type FetchEventSource,
  type FetchEventSourceConstructor,
} from "./fetch-event-source.js";
export {
  type EventStreamConnectionEvent,
  EventStreamError,
  type ReadEventStreamOptions,
  readEventStream,
} from "./read-event-stream.js";
