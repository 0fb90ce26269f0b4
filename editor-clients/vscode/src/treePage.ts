// The search tree page (`o1coder.showTree`) inside VS Code. The server writes a self-contained
// HTML page (no script, inline style) and asks the editor to open it in the browser
// (window/showDocument, external). A VS Code in the browser (code-server, vscode.dev) or with a
// remote workspace cannot: the page is a file on the server's machine, and the web workbench's
// "open" of a file:// URL is refused by the browser, so nothing happened. The extension shows it
// in a webview instead, wherever VS Code runs. Pure: no `vscode` import, so node's test runner
// covers it.

/** Whether a showDocument request is the tree page: an external file:// URI of an .html file. */
export function isTreePage(params: { uri: string; external?: boolean }): boolean {
  return params.external === true && /^file:/i.test(params.uri) && /\.html?$/i.test(params.uri);
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };

/** The panel's title: the page's <title> ("o1coder: running_max"), else a generic one. */
export function treePageTitle(html: string): string {
  const match = /<title>([^<]*)<\/title>/i.exec(html);
  const title = match ? match[1].replace(/&(amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity] ?? entity).trim() : "";
  const name = title.replace(/^o1-?coder:\s*/i, "");
  return name ? `Search tree: ${name}` : "Search tree";
}

/**
 * The page as a webview's HTML: a Content-Security-Policy that allows its inline style and
 * nothing else (the page needs no script, image or font).
 */
export function webviewHtml(html: string): string {
  const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">`;
  if (/<head[^>]*>/i.test(html)) {
    return html.replace(/<head[^>]*>/i, (head) => `${head}${csp}`);
  }
  return `${csp}${html}`;
}
