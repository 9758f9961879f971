// The Kiln console: one page, routes in the URL's hash, data from the API under /api/v1 (lib/api.js).
import { render } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import { href, useRoute } from './lib/route.js';
import { JobPage, JobsPage } from './pages/jobs.js';
import { DatasetPage, DatasetsPage } from './pages/datasets.js';
import { NewClusteringPage, NewTrainingPage } from './pages/forms.js';
import { ModelPage, ModelsPage } from './pages/models.js';
import { PipelinePage, PipelinesPage } from './pages/pipelines.js';
import { SchedulePage, SchedulesPage } from './pages/schedules.js';

const NAV = [
  ['jobs', 'Jobs'],
  ['datasets', 'Datasets'],
  ['models', 'Models'],
  ['pipelines', 'Pipelines'],
  ['schedules', 'Schedules'],
  ['new-clustering', 'New clustering'],
  ['new-training', 'New training'],
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
      return id ? html`<${ModelPage} name=${id} />` : html`<${ModelsPage} />`;
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

function App() {
  const route = useRoute();
  const section = route.path[0] ?? 'jobs';
  // A new page (not the first one: the browser starts at the top) takes the focus to its heading, so keyboard and
  // screen-reader users land on it.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = document.querySelector('main h1');
    if (heading instanceof HTMLElement) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }, [route.path.join('/')]);
  return html`
    <a
      class="skip"
      href="#main"
      onClick=${(e) => {
        e.preventDefault();
        document.getElementById('main')?.focus();
      }}
      >Skip to content</a
    >
    <header class="top">
      <a class="brand" href=${href('jobs')}>Kiln</a>
      <nav aria-label="Console sections">
        <ul>
          ${NAV.map(
            ([key, label]) =>
              html`<li><a href=${href(key)} aria-current=${section === key ? 'page' : undefined}>${label}</a></li>`,
          )}
          <li><a href="/docs">API docs</a></li>
        </ul>
      </nav>
    </header>
    <main id="main" tabindex="-1">${page(route)}</main>
    <footer class="bottom">
      Kiln console · the API at <a href="/api/v1/openapi.json"><code>/api/v1</code></a> · no sign-in yet: the console
      shows what the API shows
    </footer>
  `;
}

const root = document.getElementById('app');
// Preact renders beside what is there: the loading note goes first.
root.replaceChildren();
render(html`<${App} />`, root);
