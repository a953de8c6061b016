import { ExpiryCountdown } from "../components/expiry-countdown";
import { ProblemPanel } from "../components/problem-panel";
import { requiredScopes } from "../lib/scopes";
import { loadHome } from "../server/home-data";
import { CreateItemForm } from "./create-item-form";
import { LiveItemList } from "./live-item-list";

export const dynamic = "force-dynamic";

function PageHead() {
  return (
    <div className="page-head">
      <h1>Items</h1>
      <p>
        This server obtains a machine-to-machine access token and calls the protected tRPC API with
        it. Everything below was fetched on the server.
      </p>
    </div>
  );
}

function ScopeChip({ scope, held }: { scope: string; held: boolean }) {
  return <span className={held ? "chip" : "chip missing"}>{scope}</span>;
}

export default async function HomePage() {
  const data = await loadHome();
  if (!data.ok) {
    return (
      <>
        <PageHead />
        <ProblemPanel problem={data.problem} retryHref="/" />
      </>
    );
  }

  const { whoami, scopes, items } = data;
  const holds = (scope: string) => scopes.includes(scope);
  const actions = [
    { name: "List items", procedure: "items.list", scope: requiredScopes.listItems },
    { name: "Create an item", procedure: "items.create", scope: requiredScopes.createItem },
  ];

  return (
    <>
      <PageHead />
      <div className="grid two">
        <section className="card" aria-labelledby="whoami-title" data-testid="whoami">
          <div className="card-head">
            <h2 id="whoami-title">Who the API sees</h2>
            <span className="hint">whoami</span>
          </div>
          <dl className="facts">
            <dt>Client ID</dt>
            <dd className="mono" data-testid="client-id">
              {whoami.clientId ?? "not in the token"}
            </dd>
            <dt>Subject</dt>
            <dd className="mono">{whoami.sub}</dd>
            <dt>Scopes</dt>
            <dd className="chips" data-testid="scopes">
              {scopes.length > 0
                ? scopes.map((scope) => <ScopeChip key={scope} scope={scope} held />)
                : "none"}
            </dd>
            <dt>Token expires</dt>
            <dd>
              <ExpiryCountdown expiresAt={Date.parse(whoami.expiresAt)} />
            </dd>
          </dl>
        </section>

        <section className="card" aria-labelledby="scopes-title">
          <div className="card-head">
            <h2 id="scopes-title">What this app may do</h2>
            <span className="hint">scope needed → held?</span>
          </div>
          <table className="table" data-testid="permissions">
            <thead>
              <tr>
                <th>Action</th>
                <th>Needs</th>
                <th>Held</th>
              </tr>
            </thead>
            <tbody>
              {actions.map((action) => (
                <tr key={action.procedure}>
                  <td>
                    {action.name} <span className="hint mono">{action.procedure}</span>
                  </td>
                  <td>
                    <ScopeChip scope={action.scope} held={holds(action.scope)} />
                  </td>
                  <td>
                    {holds(action.scope) ? (
                      <span className="badge ok">yes</span>
                    ) : (
                      <span className="badge bad">no</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>

        <section className="card wide" aria-labelledby="items-title">
          <div className="card-head">
            <h2 id="items-title">Items</h2>
            <span className="hint">
              {items.ok
                ? `${items.items.length}${items.more ? "+" : ""} from items.list`
                : "items.list refused"}
            </span>
          </div>
          {items.ok ? (
            <LiveItemList items={items.items} />
          ) : (
            <p className="message warn" data-testid="list-forbidden">
              The API refused to list items (403): that needs <code>{items.missingScope}</code>,
              which this app’s token does not grant.
            </p>
          )}
          <CreateItemForm
            allowed={holds(requiredScopes.createItem)}
            requiredScope={requiredScopes.createItem}
          />
        </section>
      </div>
    </>
  );
}
