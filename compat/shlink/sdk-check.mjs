// Drives the official Shlink JS SDK (@shlinkio/shlink-js-sdk, pinned in
// package-lock.json, with bowser, the user-agent parser of
// shlink-web-component) against a running minibitly node, through the
// methods shlink-web-client and shlink-web-component call, and prints one
// JSON object: step name -> {"value": what the SDK returned} or
// {"error": what it threw}. It asserts nothing itself: the Go test
// (cmd/minibitly/compat_shlink_test.go) does, on these values.
//
//   node sdk-check.mjs <phase> <base URL> <API key>
//
// phase "main" exercises every method; phase "counted" reads back the
// visits of the link made in "main" after the Go test redirected it, and
// the orphan visits of the Go test's requests for /, /nope and /a/b.
import { ShlinkApiClient } from '@shlinkio/shlink-js-sdk';
import { FetchHttpClient } from '@shlinkio/shlink-js-sdk/fetch';
// The user-agent parser shlink-web-component charts browsers and OSes with.
import bowser from 'bowser';

const [phase, baseUrl, apiKey] = process.argv.slice(2);
// A base URL with a trailing slash, as users type it: the SDK then calls
// "//rest/v3/...".
const client = new ShlinkApiClient(new FetchHttpClient(fetch), { baseUrl: `${baseUrl}/`, apiKey });
const bad = new ShlinkApiClient(new FetchHttpClient(fetch), { baseUrl, apiKey: 'not-a-key' });

const out = {};
async function step(name, fn) {
  try {
    const value = await fn();
    out[name] = { value: value === undefined ? null : value };
  } catch (e) {
    out[name] = { error: e instanceof Error ? { message: e.message, name: e.name } : e };
  }
}

const last30Days = () => {
  const end = new Date();
  const start = new Date(end.getTime() - 30 * 24 * 3600 * 1000);
  return { startDate: start.toISOString(), endDate: end.toISOString() };
};

if (phase === 'main') {
  await step('health', () => client.health());
  await step('mercureInfo', () => client.mercureInfo());
  await step('badKey', () => bad.listShortUrls());
  // The web client's create form: tags [] and forwardQuery true by default.
  await step('create', () => client.createShortUrl({
    longUrl: 'https://example.com/sdk', customSlug: 'fromsdk', tags: ['sdk', 'both'], title: 'Made by the SDK',
    findIfExists: false, forwardQuery: true, maxVisits: 100, validUntil: '2099-01-01T00:00:00+00:00',
  }));
  await step('createLength', () => client.createShortUrl({ longUrl: 'https://example.com/len', shortCodeLength: '9', tags: [] }));
  await step('createTaken', () => client.createShortUrl({ longUrl: 'https://example.com/x', customSlug: 'fromsdk' }));
  await step('createInvalid', () => client.createShortUrl({ longUrl: 'not a url' }));
  await step('findIfExists', () => client.createShortUrl({ longUrl: 'https://example.com/sdk', findIfExists: true }));
  await step('get', () => client.getShortUrl({ shortCode: 'fromsdk' }));
  await step('getV1', () => client.getShortUrl({ shortCode: 'fromv1' }));
  await step('getMissing', () => client.getShortUrl({ shortCode: 'missing' }));
  // The web client's edit form sends every field, domain included.
  await step('update', () => client.updateShortUrl({ shortCode: 'fromsdk' }, {
    longUrl: 'https://example.com/sdk-edited', title: null, tags: ['sdk', 'both', 'edited'], domain: null,
    validSince: null, validUntil: null, maxVisits: null, crawlable: false, forwardQuery: false,
  }));
  await step('overviewList', () => client.listShortUrls({ itemsPerPage: 5, orderBy: { field: 'dateCreated', dir: 'DESC' } }));
  await step('listPage2', () => client.listShortUrls({ page: '2', itemsPerPage: 1, orderBy: { field: 'dateCreated', dir: 'ASC' } }));
  await step('listTags', () => client.listShortUrls({ tags: ['both'], tagsMode: 'all', orderBy: { field: 'visits', dir: 'DESC' } }));
  await step('listExclude', () => client.listShortUrls({ excludeTags: ['sdk'] }));
  await step('listSearch', () => client.listShortUrls({ searchTerm: 'EDITED' }));
  await step('listFiltered', () => client.listShortUrls({
    ...last30Days(), excludeMaxVisitsReached: true, excludePastValidUntil: true,
  }));
  await step('visitsOverview', () => client.getVisitsOverview());
  await step('visitsV1', () => client.getShortUrlVisits({ shortCode: 'fromv1' }, { page: 1, itemsPerPage: 5000, ...last30Days() }));
  await step('visitsV1Parsed', async () => out.visitsV1.value.data.map((v) => {
    const p = bowser.parse(v.userAgent);
    return { browser: p.browser.name ?? null, os: p.os.name ?? null, bot: v.potentialBot };
  }));
  await step('visitsV1Latest', () => client.getShortUrlVisits({ shortCode: 'fromv1' }, { page: 1, itemsPerPage: 1 }));
  await step('visitsV1NoBots', () => client.getShortUrlVisits({ shortCode: 'fromv1' }, { excludeBots: true }));
  await step('tagVisits', () => client.getTagVisits('both', { page: 1, itemsPerPage: 5000, ...last30Days() }));
  await step('domainVisits', () => client.getDomainVisits('DEFAULT', { page: 1, itemsPerPage: 5000, excludeBots: true }));
  await step('nonOrphanVisits', () => client.getNonOrphanVisits({ page: 1, itemsPerPage: 5000 }));
  await step('tags', () => client.listTags());
  await step('tagsStats', () => client.tagsStats());
  // The web client's domain redirects form: the domain's authority, a URL
  // or null for each.
  const domain = new URL(baseUrl).host;
  await step('editRedirects', () => client.editDomainRedirects({
    domain, baseUrlRedirect: 'https://example.com/home', regular404Redirect: null,
    invalidShortUrlRedirect: 'https://example.com/invalid',
  }));
  await step('editRedirectsInvalid', () => client.editDomainRedirects({ domain, regular404Redirect: 'not a url' }));
  await step('editRedirectsOtherDomain', () => client.editDomainRedirects({ domain: 'other.example', baseUrlRedirect: null }));
  await step('domains', () => client.listDomains());
  await step('rules', () => client.getShortUrlRedirectRules({ shortCode: 'fromsdk' }));
  await step('setRules', () => client.setShortUrlRedirectRules({ shortCode: 'fromsdk' }, {
    redirectRules: [{ longUrl: 'https://example.com/android', conditions: [{ type: 'device', matchValue: 'android', matchKey: null }] }],
  }));
  await step('delete', async () => {
    const made = out.createLength.value;
    await client.deleteShortUrl({ shortCode: made.shortCode });
    return made.shortCode;
  });
  await step('deleteMissing', () => client.deleteShortUrl({ shortCode: 'missing' }));
  await step('editTag', () => client.editTag({ oldName: 'edited', newName: 'renamed' }));
  await step('editTagConflict', () => client.editTag({ oldName: 'renamed', newName: 'both' }));
  await step('tagsAfterEdit', () => client.listTags());
  await step('deleteTags', () => client.deleteTags(['renamed', 'sdk']));
  await step('tagsAfterDelete', () => client.listTags());
} else if (phase === 'counted') {
  await step('get', () => client.getShortUrl({ shortCode: 'fromsdk' }));
  await step('visits', () => client.getShortUrlVisits({ shortCode: 'fromsdk' }, { page: 1, itemsPerPage: 5000 }));
  await step('list', () => client.listShortUrls({ orderBy: { field: 'visits', dir: 'DESC' } }));
  // The Go test requested /, an unknown code and /a/b: one orphan visit
  // of each type.
  await step('orphanVisits', () => client.getOrphanVisits({ page: 1, itemsPerPage: 5000 }));
  await step('orphanBaseUrl', () => client.getOrphanVisits({ type: 'base_url' }));
  await step('overview', () => client.getVisitsOverview());
  // Deleting visits, as the web client's "delete visits" buttons do.
  await step('deleteVisits', () => client.deleteShortUrlVisits({ shortCode: 'fromsdk' }));
  await step('visitsAfterDelete', () => client.getShortUrlVisits({ shortCode: 'fromsdk' }, { page: 1, itemsPerPage: 5000 }));
  await step('deleteOrphanVisits', () => client.deleteOrphanVisits());
  await step('overviewAfterDelete', () => client.getVisitsOverview());
} else {
  console.error(`unknown phase ${phase}`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(out));
