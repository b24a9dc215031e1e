import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiBaseOf } from './api-base.ts';

test('the API is where the script came from: the origin, or the path Palisade is served under', () => {
  assert.equal(apiBaseOf('https://chat.example.com/widget.js'), 'https://chat.example.com');
  assert.equal(apiBaseOf('https://example.com/palisade/widget.js'), 'https://example.com/palisade');
  assert.equal(apiBaseOf('https://example.com/palisade/widget.js?v=3#x'), 'https://example.com/palisade');
  assert.equal(apiBaseOf('http://127.0.0.1:3000/widget.js'), 'http://127.0.0.1:3000');
  for (const bad of ['javascript:alert(1)', 'data:text/javascript,1', 'not a url', '']) assert.equal(apiBaseOf(bad), null, bad);
});
