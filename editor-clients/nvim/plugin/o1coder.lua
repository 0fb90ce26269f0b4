-- Defines :O1coder, the progress display and ghost text (for o1coder clients, however they
-- start). Starting the server is left to require("o1coder").setup() or
-- vim.lsp.enable("o1coder"), see the README.
if vim.g.loaded_o1coder then
  return
end
vim.g.loaded_o1coder = true

if vim.fn.has("nvim-0.11") == 0 then
  vim.notify("o1-coder needs Neovim 0.11 or newer", vim.log.levels.ERROR)
  return
end

require("o1coder.commands").create()
require("o1coder.progress").setup()
require("o1coder.ghost").setup()
