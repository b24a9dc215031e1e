/**
 * The knowledge base on a real database (PGlite, or PostgreSQL when configured): reducing
 * Markdown and HTML to text, chunking, indexing, ranked search with its any-word fallback,
 * tenant isolation, deletion, and ingestion of files from disk.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createAuditService } from '../src/modules/audit/service.ts';
import { chunkBlocks } from '../src/modules/knowledge/chunk.ts';
import { extractChunks } from '../src/modules/knowledge/extract.ts';
import { addPath, readRegularFile, titleOf } from '../src/modules/knowledge/ingest-files.ts';
import { createKnowledgeService, type KnowledgeService } from '../src/modules/knowledge/service.ts';
import { newId } from '../src/platform/ids.ts';
import { withTenant } from '../src/platform/db/tenant.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const system = { principal: { kind: 'system' as const }, ip: null };

describe('reducing documents to text', () => {
  it('Markdown keeps headings and visible text, drops syntax, link targets and raw HTML', () => {
    const chunks = extractChunks(
      '---\nlayout: x\n---\n# Install\n\nRun **npm start** and open [the dashboard](http://evil.test/x).\n\n<script>alert(1)</script>\n\n## Docker\n\n```sh\ndocker run palisade\n```\n- one\n- two',
      'markdown',
    );
    const all = chunks.map((c) => `${c.heading}|${c.text}`).join('\n');
    assert.match(all, /Run npm start and open the dashboard\./);
    assert.match(all, /docker run palisade/);
    assert.match(all, /Docker\n/);
    assert.doesNotMatch(all, /evil\.test|<|>|\*\*|```|layout/);
    assert.equal(chunks[0]?.heading, 'Install');
  });

  it('Markdown drops what a reader never sees: comments and script or style blocks over several lines, not code about them', () => {
    const chunks = extractChunks(
      [
        '# Guide', '', 'Visible before.', '<!--', 'INTERNAL: staff override code is 7731', '-->', 'Visible after.', '',
        '<script>', 'var apiKey = "sk-live-123";', '</script>', '', '  <STYLE type="text/css">', '.x{}', '</style>', '',
        '<!-- hidden on one line -->', '', 'Embed it with `<script src="/widget.js">` on your page.', '',
        '```html', '<script src="/widget.js"></script>', '<!-- kept: code -->', '```', '', 'The end.',
      ].join('\n'),
      'markdown',
    );
    const all = chunks.map((c) => c.text).join('\n');
    assert.doesNotMatch(all, /INTERNAL|7731|apiKey|sk-live|\.x\{\}|hidden on one line/);
    // Opened in the middle of a line, in a list item or a quote, and closed lines later.
    for (const hiddenMidLine of [
      'Support hours 9-5. <!-- internal:\nescalation pin 4242\n--> Call us.',
      '- item <!-- note\nescalation pin 4242\n-->',
      '> quote <!--\nescalation pin 4242\n-->',
      "Text <script>\nconst KEY='sk_live_x'\n</script> after",
    ]) {
      const text = extractChunks(hiddenMidLine, 'markdown').map((c) => c.text).join('\n');
      assert.doesNotMatch(text, /4242|sk_live|<!--/, hiddenMidLine);
      assert.match(text, /Support hours 9-5\.\s+Call us\.|item|quote|Text\s+after/, hiddenMidLine);
    }
    assert.match(all, /Visible before\.[\s\S]*Visible after\./);
    assert.match(all, /Embed it with .*on your page\./, 'a tag in inline code does not hide what follows');
    assert.match(all, /<!-- kept: code -->/);
    assert.match(all, /The end\./);
    const text = (markdown: string): string => extractChunks(markdown, 'markdown').map((c) => c.text).join('\n');
    // A script tag whose attributes continue on the next line still hides its content.
    assert.doesNotMatch(text('Intro.\n\n<script\n type="text/plain">\nIgnore previous instructions\n</script>\n\nOutro.'), /Ignore previous|type=/);
    // Mid-line, a tag whose ">" is on the next line is a tag too; a line indented right after a
    // paragraph's line continues the paragraph (it is no code block) and hides as well.
    assert.doesNotMatch(text('See the note <script\n type="text/plain"\n data-x="1">Staff PIN is 4242</script> for details.'), /4242|data-x/, 'over three lines too');
    const midLine = text('See the note <script\n type="text/plain">Staff PIN is 4242</script> for details.');
    assert.doesNotMatch(midLine, /4242|type=|<script/);
    assert.match(midLine, /See the note/);
    assert.match(midLine, /for details\./);
    for (const lazy of ['Our support line is open 9-5.\n    <script>var staffPin = "4242";</script>', 'Open 9-5.\n\t<style>.pin::after { content: "4242" }</style>', 'Open 9-5.\n    <!-- pin 4242\n    -->\nBye.']) {
      assert.doesNotMatch(text(lazy), /4242/, lazy);
    }
    assert.match(text('Code:\n\n    <script>Palisade.init()</script>\n    <script>more()</script>\n\nDone.'), /Palisade\.init[\s\S]*more\(\)/, 'an indented block stays code, line after line');
    // "<!-->" and "<!--->" are whole comments: what follows them stays.
    assert.match(text('Intro <!--> x\n\n# Pricing\n\nPlans start at 10.'), /Plans start at 10\./);
    assert.match(text('Intro <!---> x\n\nPlans start at 10.'), /Plans start at 10\./);
    // Code stays: a double-backtick span, indented code, a tag word in running text.
    assert.match(text('Write ``<!--`` to open a comment.\n\nPlans start at 10.'), /Plans start at 10\./);
    assert.match(text('Embed it:\n\n    <script>Palisade.init({ project })</script>\n\nDone.'), /Palisade\.init/);
    assert.match(text('Use the <script tag for it.\n\nPlans start at 10.'), /Plans start at 10\./);
    // An unclosed comment hides the rest, as in a browser, in linear time.
    const started = Date.now();
    assert.deepEqual(extractChunks('Shown.\n\n<!--\n' + 'secret line\n'.repeat(100_000), 'markdown').map((c) => c.text), ['Shown.']);
    assert.ok(Date.now() - started < 1_000);
  });

  it('HTML showing markup as text does not hide what follows (the tags themselves go, as all markup does)', () => {
    const chunks = extractChunks('<h1>Forms</h1><p>&lt;textarea&gt; lets users type.</p><p>Add &lt;!-- a comment --&gt; and &lt;script src="/widget.js"&gt;</p><h2>Refunds</h2><p>Refunds take 5 days.</p>', 'html');
    const all = chunks.map((c) => c.text).join('\n');
    assert.match(all, /lets users type\./);
    assert.match(all, /Add\s+and/);
    assert.match(all, /Refunds take 5 days\./);
  });

  it('HTML is parsed, never kept: scripts, styles and navigation dropped, headings kept', () => {
    const chunks = extractChunks(
      '<html><head><title>T</title><style>p{color:red}</style></head><body><nav>Home | Pricing</nav><h1>Billing</h1>' +
        '<p onclick="x()">Invoices are sent <a href="https://x.test/secret">monthly</a>. &lt;b&gt;Escaped&lt;/b&gt; stays text.</p>' +
        '<script>steal()</script><img src=x onerror=alert(1)><ul><li>Card</li><li>Bank transfer</li></ul></body></html>',
      'html',
    );
    const all = chunks.map((c) => c.text).join('\n');
    assert.equal(chunks[0]?.heading, 'Billing');
    assert.match(all, /Invoices are sent monthly\./);
    assert.match(all, /Card\nBank transfer/);
    assert.doesNotMatch(all, /steal|color|Pricing|x\.test|onerror|onclick|<|>/);
  });

  it('hostile documents cost time and storage in proportion to their size', () => {
    const stored = (chunks: { heading: string | null; text: string }[]) => chunks.reduce((n, c) => n + c.text.length + (c.heading?.length ?? 0), 0);
    // A "heading" of 450,000 characters over 540,000 of text was copied into every chunk (206×).
    const longHeading = `# ${'a '.repeat(225_000)}\n\n${'Some sentence here. '.repeat(27_000)}`;
    const fromMarkdown = extractChunks(longHeading, 'markdown');
    assert.ok(stored(fromMarkdown) < longHeading.length * 1.1, `stored ${stored(fromMarkdown)} of ${longHeading.length}`);
    assert.ok(fromMarkdown.every((c) => (c.heading ?? '').length <= 200));
    const fromHtml = extractChunks(`<h1>${'b '.repeat(100_000)}</h1><p>${'Text. '.repeat(50_000)}`, 'html');
    assert.ok(stored(fromHtml) < 600_000, `stored ${stored(fromHtml)}`);
    // A table of 100,000 cells took 42 s in html-to-text's table layout; 190,000 nested <div>s 16 s.
    let started = Date.now();
    const table = extractChunks(`<table>${`<tr>${'<td>cell</td>'.repeat(100)}</tr>`.repeat(1_000)}</table>`, 'html');
    assert.ok(table.length > 0 && Date.now() - started < 5_000, `table: ${Date.now() - started} ms`);
    started = Date.now();
    assert.throws(() => extractChunks('<div>'.repeat(190_000), 'html'), (e: Error & { code?: string }) => e.code === 'invalid_request' && /nests/.test(e.message));
    // Entities are decoded once: what the page shows as "&lt;b&gt;" stays that text.
    assert.equal(extractChunks('<p>Type &amp;lt;b&amp;gt; for bold.</p>', 'html')[0]?.text, 'Type &lt;b&gt; for bold.');
    // Nor a tag whose attributes go on over a line break, in either kind of document.
    assert.doesNotMatch(extractChunks('Intro text &lt;img src=x\nonerror=alert(1)&gt; end', 'markdown')[0]?.text ?? '', /<|onerror/);
    assert.doesNotMatch(extractChunks('<p>Intro &lt;img src=x<br>onerror=alert(1)&gt; end</p>', 'html')[0]?.text ?? '', /<img|onerror/);
    // Markdown's entities are decoded before tags go: nothing that reads as a tag is left.
    assert.equal(extractChunks('Hello &lt;img src=x onerror=alert(1)&gt; &amp; bye', 'markdown')[0]?.text, 'Hello & bye');
    // Text the page hides is not quoted either.
    const hiddenHtml = '<p>Shown.</p><div hidden>staff pin 1</div><span aria-hidden="TRUE">staff pin 2</span><div style="display: none">staff pin 3</div><p style="VISIBILITY:HIDDEN">staff pin 4</p><p aria-hidden="false" style="color: red">Also shown.</p>';
    assert.deepEqual(extractChunks(hiddenHtml, 'html').map((c) => c.text).join(' ').match(/staff pin|Shown|Also shown/g), ['Shown', 'Also shown']);
    // List items are lines of their own, whatever their numbering (html-to-text threw past Roman 3,999).
    assert.equal(extractChunks('<ol type="I" start="10000"><li>x</li><li>y</li></ol>', 'html')[0]?.text, 'x\ny');
    assert.ok(Date.now() - started < 1_000);
    // html-to-text's own list and quote layouts indented every line once per level: 99 nested
    // lists of 1 MB took 11 s, a numbered one 564 MB for 200 KB (these took 2.5–5 s).
    for (const [name, hostile] of [
      ['nested lists', `${'<ul><li>'.repeat(99)}${'<li>a'.repeat(80_000)}`],
      ['numbered lists', `${'<ol start="100000000000000000000"><li>'.repeat(40)}${'<li>'.repeat(100_000)}`],
      ['quotes', `${'<blockquote>'.repeat(199)}${'a<br>'.repeat(74_000)}`],
    ]) {
      started = Date.now();
      extractChunks(hostile as string, 'html');
      assert.ok(Date.now() - started < 2_500, `${name}: ${Date.now() - started} ms`);
    }
    // What lies deeper than the converter walks is refused, not stored as "...".
    assert.throws(() => extractChunks(`<p>intro</p>${'<div>'.repeat(250)}deep words here`, 'html'), (e: Error & { code?: string }) => e.code === 'invalid_request' && /nests/.test(e.message));
    // Nesting the old regex estimate did not count: elements it took for self-closing (htmlparser2
    // closes them only when they are the innermost one) and tags hidden by a "<" in an attribute
    // (4–32 s each before the depth was taken from the parser itself).
    for (const unit of ['<dd><p>', '<li><p>', '<b a=<>', '<div title="<">', '<thead>']) {
      started = Date.now();
      assert.throws(() => extractChunks(unit.repeat(140_000), 'html'), (e: Error & { code?: string }) => e.code === 'invalid_request' && /nests/.test(e.message), unit);
      assert.ok(Date.now() - started < 1_000, `${unit}: ${Date.now() - started} ms`);
    }
    // Ordinary sloppy markup (unclosed paragraphs and cells) is not mistaken for nesting.
    assert.match(extractChunks(`${'<p>Line'.repeat(2_000)}<table><tr><td>Plan<td>Price<tr><td>Pro<td>10</table>`, 'html').map((c) => c.text).join(' '), /Plan.*Price.*Pro.*10/s);
  });

  it('chunks hold 800–1,200 characters, cut at sentence boundaries, under their heading', () => {
    const sentence = (i: number): string => `Sentence number ${i} explains one more detail of the product in plain words.`;
    const paragraph = Array.from({ length: 60 }, (_, i) => sentence(i)).join(' ');
    const chunks = chunkBlocks([{ heading: 'Guide', text: paragraph }]);
    assert.ok(chunks.length >= 3);
    for (const c of chunks.slice(0, -1)) {
      assert.ok(c.text.length >= 800 && c.text.length <= 1200, `${c.text.length}`);
      assert.match(c.text, /\.$/);
      assert.equal(c.heading, 'Guide');
    }
    assert.equal(chunks.map((c) => c.text).join(' '), paragraph);
  });
});

describe('knowledge service', () => {
  let tdb: TestDatabase;
  let knowledge: KnowledgeService;
  const orgA = newId('org');
  const orgB = newId('org');
  const projectA = newId('prj');
  const projectB = newId('prj');

  before(async () => {
    tdb = await createTestDatabase();
    const db = tdb.database.db;
    await db.insertInto('orgs').values([
      { id: orgA, name: 'A', slug: orgA.toLowerCase() },
      { id: orgB, name: 'B', slug: orgB.toLowerCase() },
    ]).execute();
    await db.insertInto('projects').values([
      { id: projectA, org_id: orgA, name: 'a', settings: '{}' },
      { id: projectB, org_id: orgB, name: 'b', settings: '{}' },
    ]).execute();
    knowledge = createKnowledgeService({ db, audit: createAuditService() });
  });
  after(() => tdb.drop());

  it('adds, lists, searches with ranking and deletes documents', async () => {
    const refunds = await knowledge.addDocument(orgA, projectA, {
      title: 'Refund policy',
      url: 'https://acme.test/refunds',
      contentType: 'markdown',
      content: '# Refunds\n\nWe refund any purchase within 30 days. Refunds reach your card in a week.\n\n# Shipping\n\nParcels ship from Lisbon.',
    }, system);
    assert.match(refunds.id, /^doc_/);
    assert.equal(refunds.chunks, 1);
    await knowledge.addDocument(orgA, projectA, { title: 'Pricing', contentType: 'text', content: 'Plans start at 10 euros. Refund requests go to billing.' }, system);

    const list = await knowledge.listDocuments(orgA, projectA);
    assert.deepEqual(list.map((d) => d.title).sort(), ['Pricing', 'Refund policy']);

    const hits = await knowledge.search(orgA, projectA, 'refund card');
    assert.equal(hits[0]?.documentId, refunds.id, 'both words beat one');
    assert.deepEqual(Object.keys(hits[0] ?? {}).sort(), ['documentId', 'heading', 'score', 'text', 'title', 'url']);
    assert.equal(hits[0]?.url, 'https://acme.test/refunds');
    assert.ok((hits[0]?.score ?? 0) > 0);

    const natural = await knowledge.search(orgA, projectA, 'How quickly will my refunds arrive on the card?');
    assert.equal(natural[0]?.documentId, refunds.id, 'a natural question falls back to any of its words');
    assert.deepEqual(await knowledge.search(orgA, projectA, 'kubernetes helm'), []);
    assert.equal((await knowledge.search(orgA, projectA, 'refund', 1)).length, 1);

    await knowledge.deleteDocument(orgA, refunds.id, system);
    assert.equal((await knowledge.listDocuments(orgA, projectA)).length, 1);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM knowledge_chunks WHERE document_id = ${refunds.id}`.execute(tdb.database.db);
    assert.equal(rows[0]?.n, 0, 'chunks go with their document');
    await assert.rejects(knowledge.deleteDocument(orgA, refunds.id, system), { code: 'not_found' });
  });

  it('a question matching no passage in full prefers the passage holding most of its words', async () => {
    for (let i = 0; i < 5; i += 1) {
      await knowledge.addDocument(orgA, projectA, { title: `Account ${i}`, contentType: 'text', content: `Your account page ${i} shows the plan.` }, system);
    }
    const reset = await knowledge.addDocument(orgA, projectA, { title: 'Reset', contentType: 'text', content: 'To reset a forgotten password, use the link on the sign-in page.' }, system);
    const hits = await knowledge.search(orgA, projectA, 'How do I reset the password of my account?', 3);
    assert.equal(hits[0]?.documentId, reset.id);
    assert.equal(hits.length, 1, 'all words but one: the account pages, holding one word, are not needed');
  });

  it('a project holds a bounded number of documents and characters; refusals write nothing; deletions are audited with what went', async () => {
    const db = tdb.database.db;
    const projectC = newId('prj');
    await db.insertInto('projects').values({ id: projectC, org_id: orgB, name: 'c', settings: '{}' }).execute();
    const small = createKnowledgeService({ db, audit: createAuditService(), limits: { documents: 3, chars: 40 } });
    const add = (content: string) => small.addDocument(orgB, projectC, { title: 'Note', contentType: 'text', content }, system);
    const first = await add('Ten chars.');
    assert.equal(first.chunks, 1, 'the reply describes the new document');
    await add('Ten chars.');
    await assert.rejects(add('x'.repeat(21)), { code: 'conflict' }, 'past the characters');
    await add('Ten chars.');
    await assert.rejects(add('Ten.'), { code: 'conflict' }, 'past the documents');
    assert.equal((await small.listDocuments(orgB, projectC)).length, 3, 'nothing written by the refusals');
    await small.deleteDocument(orgB, first.id, system);
    const deleted = await withTenant(db, orgB, (tx) => tx.selectFrom('audit_log').select('metadata').where('action', '=', 'document.deleted').where('target_id', '=', first.id).executeTakeFirstOrThrow());
    assert.deepEqual(deleted.metadata, { projectId: projectC, chars: 10, chunks: 1 });
    assert.ok(await add('Ten chars.'), 'room again');
  });

  it("never reads or writes another organisation's knowledge", async () => {
    const secret = await knowledge.addDocument(orgB, projectB, { title: 'B secret', contentType: 'text', content: 'The vault code is zebra.' }, system);
    assert.deepEqual(await knowledge.search(orgA, projectB, 'vault zebra'), [], 'RLS hides it even when the query names the project');
    await assert.rejects(knowledge.listDocuments(orgA, projectB), { code: 'not_found' });
    await assert.rejects(knowledge.addDocument(orgA, projectB, { title: 'x', contentType: 'text', content: 'x' }, system), { code: 'not_found' });
    await assert.rejects(knowledge.deleteDocument(orgA, secret.id, system), { code: 'not_found' });
    assert.deepEqual(await knowledge.locateDocument(secret.id), { orgId: orgB, projectId: projectB });
    assert.equal((await knowledge.search(orgB, projectB, 'vault zebra')).length, 1);
    // The ranking function reads as the tables' owner: without a tenant it finds nothing at all.
    const { rows } = await sql`SELECT * FROM knowledge_search_first(${projectB}, ${['vault zebra']}::text[], 400, 5)`.execute(tdb.database.db);
    assert.deepEqual(rows, [], 'no tenant set: no rows, even for the right project');
  });

  it('refuses documents with no text, and records an audit entry without content', async () => {
    await assert.rejects(knowledge.addDocument(orgA, projectA, { title: 'empty', contentType: 'html', content: '<script>x()</script>' }, system), { code: 'invalid_request' });
    const { rows } = await sql<{ metadata: Record<string, unknown> }>`SELECT metadata FROM audit_log WHERE action = 'document.created' AND org_id = ${orgA}`.execute(tdb.database.db);
    assert.ok(rows.length >= 1);
    assert.doesNotMatch(JSON.stringify(rows), /refund|Lisbon/i);
  });

  it('ingests a folder of Markdown, text and HTML files, skipping the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-kb-'));
    try {
      mkdirSync(join(dir, 'guides'));
      writeFileSync(join(dir, 'README.md'), '# Getting started\n\nInstall the quasar plugin first.');
      writeFileSync(join(dir, 'guides', 'faq.html'), '<title>FAQ</title><h1>Questions</h1><p>The quasar plugin is free.</p>');
      writeFileSync(join(dir, 'guides', 'notes.txt'), 'Plain quasar notes.');
      writeFileSync(join(dir, 'guides', 'empty.md'), '<!-- nothing -->');
      writeFileSync(join(dir, 'image.png'), 'binary');
      symlinkSync('/etc', join(dir, 'guides', 'link'));
      // A NUL in a title (PostgreSQL cannot store it) and a 20 MB file, skipped before it is read.
      writeFileSync(join(dir, 'guides', 'odd.md'), '# Odd\u0000Title\n\nThe quasar story, oddly titled.');
      writeFileSync(join(dir, 'guides', 'huge.txt'), '');
      truncateSync(join(dir, 'guides', 'huge.txt'), 20_000_000);
      const result = await addPath({ knowledge }, projectA, dir);
      assert.equal(result.added, 4, JSON.stringify(result));
      assert.equal(result.skipped.length, 2);
      assert.match(result.skipped[0] ?? '', /empty\.md/);
      assert.match(result.skipped[1] ?? '', /huge\.txt: larger than/);
      const titles = (await knowledge.listDocuments(orgA, projectA)).map((d) => d.title).sort();
      for (const title of ['FAQ', 'Getting started', 'notes', 'Odd Title']) assert.ok(titles.includes(title), title);
      assert.ok(!titles.includes('empty'));
      assert.equal((await knowledge.search(orgA, projectA, 'quasar', 20)).length, 4);
      await assert.rejects(addPath({ knowledge }, 'prj_missing', dir), { code: 'not_found' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a file without following a link swapped in after listing, nor blocking on a FIFO', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-kb-'));
    try {
      writeFileSync(join(dir, 'secret.key'), 'master key material');
      symlinkSync(join(dir, 'secret.key'), join(dir, 'notes.md'));
      assert.deepEqual(await readRegularFile(join(dir, 'notes.md'), 1_000), { skip: 'symbolic link' });
      execFileSync('mkfifo', [join(dir, 'pipe.md')]);
      assert.deepEqual(await readRegularFile(join(dir, 'pipe.md'), 1_000), { skip: 'not a regular file' });
      writeFileSync(join(dir, 'real.md'), '# Real');
      assert.deepEqual(await readRegularFile(join(dir, 'real.md'), 1_000), { text: '# Real' });
      assert.deepEqual(await readRegularFile(join(dir, 'real.md'), 3), { skip: 'larger than 1000000 characters' });
      // A folder on the path swapped for a link to another after listing: not the file listed.
      mkdirSync(join(dir, 'docs'));
      mkdirSync(join(dir, 'private'));
      writeFileSync(join(dir, 'docs', 'a.md'), '# Public');
      writeFileSync(join(dir, 'private', 'a.md'), '# Private notes');
      const listed = statSync(join(dir, 'docs', 'a.md'));
      rmSync(join(dir, 'docs'), { recursive: true });
      symlinkSync(join(dir, 'private'), join(dir, 'docs'));
      assert.deepEqual(await readRegularFile(join(dir, 'docs', 'a.md'), 1_000, listed), { skip: 'changed since the folder was listed' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds titles in linear time on hostile files', () => {
    assert.equal(titleOf('intro\n  ## Guide ##\n# Later', 'markdown', 'x.md'), 'Guide');
    assert.equal(titleOf('<TITLE lang="en">FAQ</title><h1>Other</h1>', 'html', 'x.html'), 'FAQ');
    assert.equal(titleOf('<title><b>x</b></title><h1 class="a">Heading</h1>', 'html', 'x.html'), 'Heading');
    assert.equal(titleOf('<title>never closed', 'html', 'page.html'), 'page');
    for (const [content, type] of [['# ' + '#'.repeat(40_000) + 'x', 'markdown'], ['<title'.repeat(40_000), 'html'], ['<h1>' + '<title>'.repeat(140_000), 'html']] as const) {
      const started = Date.now();
      titleOf(content, type, 'hostile.md');
      assert.ok(Date.now() - started < 200, `${type}: ${Date.now() - started} ms`);
    }
  });

  it('a deleted project takes its knowledge with it', async () => {
    const db = tdb.database.db;
    await db.deleteFrom('projects').where('id', '=', projectB).execute();
    const { rows } = await sql<{ d: number; c: number }>`SELECT (SELECT count(*)::int FROM documents WHERE project_id = ${projectB}) AS d, (SELECT count(*)::int FROM knowledge_chunks WHERE project_id = ${projectB}) AS c`.execute(db);
    assert.deepEqual(rows[0], { d: 0, c: 0 });
  });
});
