// workerd: clocks stand still while a Worker computes, so the section times batches from outside.
// `GET /batch?op=uncached&n=500` runs that many calls and answers 204.
import { batch, prepare } from "./runtime-probe.mjs";

let probe;

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname !== "/batch") return new Response("ready");
    probe ??= await prepare();
    await batch(probe.ops[url.searchParams.get("op")], Number(url.searchParams.get("n")));
    return new Response(null, { status: 204 });
  },
};
