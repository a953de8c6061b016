import type { Problem } from "../server/describe-problem";
import { RichText } from "./rich-text";

/** A plain explanation of why a page could not load, with what to check and a way to retry. */
export function ProblemPanel({ problem, retryHref }: { problem: Problem; retryHref: string }) {
  return (
    <section className="card problem" role="alert" data-testid="problem" data-kind={problem.kind}>
      <h2>{problem.title}</h2>
      <p>{problem.summary}</p>
      <div>
        <h3 className="stat-label">What to check</h3>
        <ol>
          {problem.checks.map((check) => (
            <li key={check}>
              <RichText text={check} />
            </li>
          ))}
        </ol>
      </div>
      <div className="actions">
        <a className="button" href={retryHref}>
          Reload
        </a>
        <span className="hint">
          {problem.kind === "config"
            ? "The environment is read once per server process: restart it after a change."
            : "Nothing here needs a restart: reloading is enough once it is fixed."}
        </span>
      </div>
    </section>
  );
}
