export {
  createEventStreamParser,
  type EventStreamParserHooks,
  type ServerSentEvent,
} from "./event-stream-parser.js";
export {
  type EventStreamConnectionEvent,
  EventStreamError,
  type ReadEventStreamOptions,
  readEventStream,
} from "./read-event-stream.js";
