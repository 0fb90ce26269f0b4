import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isTreePage, treePageTitle, webviewHtml } from "../src/treePage";

const PAGE =
  '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n<title>o1coder: Box.area &amp; more</title>\n' +
  "<style>body { color: #111; }</style></head><body><h1>o1coder: Box.area</h1></body></html>\n";

describe("tree page", () => {
  test("the server's showDocument of its page is recognised; other documents are not", () => {
    assert.equal(isTreePage({ uri: "file:///home/u/.cache/o1coder/trees/a.py-f-0123456789.html", external: true }), true);
    assert.equal(isTreePage({ uri: "file:///home/u/.cache/o1coder/trees/a.html", external: false }), false);
    assert.equal(isTreePage({ uri: "file:///home/u/a.py", external: true }), false);
    assert.equal(isTreePage({ uri: "https://example.com/a.html", external: true }), false);
    assert.equal(isTreePage({ uri: "file:///a.html" }), false);
  });

  test("the panel's title names the function, from the page's title", () => {
    assert.equal(treePageTitle(PAGE), "Search tree: Box.area & more");
    assert.equal(treePageTitle("<html><body>no title</body></html>"), "Search tree");
    assert.equal(treePageTitle("<title>o1coder: </title>"), "Search tree");
  });

  test("the webview gets a policy that allows the inline style and nothing else", () => {
    const html = webviewHtml(PAGE);
    assert.match(html, /<head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';"><meta charset/);
    assert.ok(html.endsWith("</body></html>\n"));
    assert.match(webviewHtml("<p>x</p>"), /^<meta http-equiv="Content-Security-Policy"/);
  });
});
