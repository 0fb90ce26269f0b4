-- Defines :O1coder and the progress display. Starting the server is left to
-- require("o1coder").setup() or vim.lsp.enable("o1coder"), see the README.
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
