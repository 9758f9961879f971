// The Kiln console: one page, routes in the URL's hash, data from the API under /api/v1 (lib/api.js).
import { render } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { onUnauthorized } from './lib/api.js';
import { ErrorNote } from './lib/format.js';
import { href, isRouteHash, useRoute } from './lib/route.js';
import { SessionContext, signOut, whoami } from './lib/session.js';
import { JobPage, JobsPage } from './pages/jobs.js';
import { DatasetPage, DatasetsPage } from './pages/datasets.js';
import { NewClusteringPage, NewTrainingPage } from './pages/forms.js';
import { ModelPage, ModelsPage } from './pages/models.js';
import { PipelinePage, PipelinesPage } from './pages/pipelines.js';
import { SchedulePage, SchedulesPage } from './pages/schedules.js';
import { SignInPage } from './pages/sign-in.js';

/** The sections: [route, label, what the caller must be able to do to see it (whoami's `can`), if anything]. */
const NAV = [
  ['jobs', 'Jobs'],
  ['datasets', 'Datasets'],
  ['models', 'Models'],
  ['pipelines', 'Pipelines'],
  ['schedules', 'Schedules'],
  ['new-clustering', 'New clustering', 'start'],
  ['new-training', 'New training', 'start'],
];

/** The page for a route: [section, id?]. */
function page({ path, query }) {
  const [section = 'jobs', id] = path;
  switch (section) {
    case 'jobs':
      return id ? html`<${JobPage} jobId=${id} />` : html`<${JobsPage} query=${query} />`;
    case 'datasets':
      return id ? html`<${DatasetPage} datasetId=${id} />` : html`<${DatasetsPage} />`;
    case 'models':
      // Keyed by name: another model's page starts afresh (no alias typed, no "Moved" note from the last one).
      return id ? html`<${ModelPage} key=${id} name=${id} />` : html`<${ModelsPage} />`;
    case 'pipelines':
      return id ? html`<${PipelinePage} pipelineId=${id} />` : html`<${PipelinesPage} />`;
    case 'schedules':
      return id ? html`<${SchedulePage} scheduleId=${id} />` : html`<${SchedulesPage} />`;
    case 'new-clustering':
      return html`<${NewClusteringPage} query=${query} />`;
    case 'new-training':
      return html`<${NewTrainingPage} query=${query} />`;
    default:
      return html`<section>
        <h1>Not found</h1>
        <p>No console page at <code>#/${path.join('/')}</code>. <a href=${href('jobs')}>Jobs</a></p>
      </section>`;
  }
}

/** The document's title for a route: the section, and the item's id on an item's page. */
function pageTitle([section = 'jobs', id]) {
  const label = NAV.find(([key]) => key === section)?.[1] ?? 'Not found';
  return `${label}${id ? `: ${id}` : ''} · Kiln console`;
}

/**
 * The session: undefined while GET /api/v1/whoami is out, null without one (the sign-in form), else the caller.
 * `ended`: a session that was open is gone (a 401 from any request, or signing out).
 */
function useSession() {
  const [session, setSession] = useState(
    /** @type {import('./lib/session.js').Whoami | null | undefined} */ (undefined),
  );
  const [ended, setEnded] = useState(false);
  const [error, setError] = useState(undefined);
  const current = useRef(session);
  current.current = session;
  useEffect(() => {
    // Any 401 (an expired session, a revoked or expired key, a sign-out in another tab) returns to the form, the route
    // kept.
    onUnauthorized(() => {
      if (current.current) setEnded(true);
      setSession(null);
    });
    whoami()
      .then(setSession)
      .catch((err) => (err.status === 401 ? setSession(null) : setError(err)));
  }, []);
  return {
    session,
    ended,
    error,
    signedIn: (who) => {
      setEnded(false);
      setSession(who);
    },
    signOut: async () => {
      setError(undefined);
      try {
        await signOut();
        setEnded(false);
        setSession(null);
      } catch (err) {
        setError(err);
      }
    },
  };
}

function App() {
  const route = useRoute();
  const { session, ended, error: sessionError, signedIn, signOut: leave } = useSession();
  const section = route.path[0] ?? 'jobs';
  const title = session === null ? 'Sign in · Kiln console' : pageTitle(route.path);
  const titleRef = useRef(/** @type {HTMLParagraphElement | null} */ (null));
  // A new page (not the first one: the browser starts at the top) takes the focus back to the top of the document,
  // to the page's title just before the skip link: a screen reader reads the new title, and the next Tab reaches
  // "Skip to content" as on a fresh load (focus on the page's heading sent that Tab into the page's first control).
  const first = useRef(true);
  // The title changes in the same commit as the content (a layout effect, before the browser paints): a page whose
  // form or table is on screen already has its title, however late the deferred effects run on a busy machine.
  useLayoutEffect(() => {
    document.title = title;
  }, [title]);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      // Loaded at an in-page fragment (`/#main`): the element it names, once rendered, takes the focus.
      const target = isRouteHash(window.location.hash) ? null : document.getElementById(window.location.hash.slice(1));
      if (target instanceof HTMLElement) target.focus();
      return;
    }
    titleRef.current?.focus({ preventScroll: true });
  }, [route.path.join('/')]);
  // Signed in: the form (and the focus in it) is gone; the focus goes to the top as on a new page. Signed out: the
  // form's field takes it (SignInPage).
  const wasSignedOut = useRef(false);
  useEffect(() => {
    if (session && wasSignedOut.current) titleRef.current?.focus({ preventScroll: true });
    wasSignedOut.current = session === null;
  }, [session?.id ?? session]);
  const can = session?.can;
  const nav = session ? NAV.filter(([, , needs]) => !needs || can?.[needs]) : [];
  const content =
    session === undefined
      ? sessionError
        ? html`<section>
            <h1>Kiln console</h1>
            <${ErrorNote} error=${sessionError} />
          </section>`
        : html`<p class="boot">Checking your sign-in…</p>`
      : session === null
        ? html`<${SignInPage} onSignedIn=${signedIn} ended=${ended} />`
        : html`<${SessionContext.Provider} value=${session}>${page(route)}</${SessionContext.Provider}>`;
  return html`
    <p class="visually-hidden" id="page-title" tabindex="-1" ref=${titleRef}>${title}</p>
    <a
      class="skip"
      href="#main"
      onClick=${(e) => {
        // The focus moves; the URL stays on its route (the router ignores in-page fragments such as #main anyway).
        e.preventDefault();
        document.getElementById('main')?.focus();
      }}
      >Skip to content</a
    >
    <header class="top">
      <a class="brand" href=${href('jobs')}>Kiln</a>
      ${
        session
          ? html`<nav aria-label="Console sections">
                <ul>
                  ${nav.map(
                    ([key, label]) =>
                      html`<li>
                        <a href=${href(key)} aria-current=${section === key ? 'page' : undefined}>${label}</a>
                      </li>`,
                  )}
                  <li><a href="/docs">API docs</a></li>
                </ul>
              </nav>
              <div class="who" id="who">
                <span
                  >Tenant <strong>${session.tenantId}</strong>${', role '}<strong data-role=${session.role}
                    >${session.role}</strong
                  >${session.platformAdmin ? ', platform admin' : ''}</span
                >
                <button type="button" id="sign-out" onClick=${() => void leave()}>Sign out</button>
              </div>`
          : null
      }
    </header>
    <main id="main" tabindex="-1">
      ${session && sessionError ? html`<${ErrorNote} error=${sessionError} />` : null} ${content}
    </main>
    <footer class="bottom">
      Kiln console · the API at <a href="/api/v1/openapi.json"><code>/api/v1</code></a
      >${' · '}${
        session
          ? `signed in to tenant ${session.tenantId} as ${session.role}: the console shows what this key may see and do`
          : 'sign in with an API key'
      }
    </footer>
  `;
}

const root = document.getElementById('app');
// Preact renders beside what is there: the loading note goes first.
root.replaceChildren();
render(html`<${App} />`, root);
