--- o1-coder for Neovim: starts `o1coder serve` for Python buffers, passes the `o1coder`
--- settings, and offers the server's commands as `:O1coder {subcommand}`.
---
---   require("o1coder").setup({
---     cmd = { "o1coder", "serve" },
---     settings = { search = { strategy = "mcts", budgetTokens = 3000 } },
---   })
local config = require("o1coder.config")

local M = {}

--- Starts (or reuses) the o1coder client for `bufnr` with `vim.lsp.start`.
---@param bufnr integer|nil
---@return integer|nil client_id
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local lsp_config = config.lsp_config()
  local name = vim.api.nvim_buf_get_name(bufnr)
  lsp_config.root_dir = vim.fs.root(bufnr, lsp_config.root_markers)
    or (name ~= "" and vim.fs.dirname(name))
    or vim.fn.getcwd()
  return vim.lsp.start(lsp_config, { bufnr = bufnr })
end

--- Configures the plugin and starts the server for Python buffers, open and to come.
---@param opts table|nil see README: cmd, cli, filetypes, root_markers, settings, progress, ghost_text, on_attach
function M.setup(opts)
  local options = config.set(opts)
  require("o1coder.commands").create()
  require("o1coder.progress").setup()
  require("o1coder.ghost").setup()
  local group = vim.api.nvim_create_augroup("o1coder.start", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = options.filetypes,
    desc = "o1-coder: start the language server",
    callback = function(ev)
      M.start(ev.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(options.filetypes, vim.bo[bufnr].filetype) then
      M.start(bufnr)
    end
  end
end

--- Progress for a statusline: "o1coder: Implement with search: add() 40% ..." while work runs, else "".
M.status = function()
  return require("o1coder.progress").status()
end

return M
