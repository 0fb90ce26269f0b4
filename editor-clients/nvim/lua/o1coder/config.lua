--- Options of the plugin and the LSP client configuration built from them.
---
--- The server's settings (`settings`) are passed through untouched: their shape is the
--- server's (`o1coder.config.Settings`, camelCase), see the README for the list.
local M = {}

M.name = "o1coder"

--- Work commands: the server's command ids, the `:O1coder` subcommand offering them, titles.
--- `at`: what the subcommand sends, the cursor ({uri, position, version}) or the document ({uri}).
M.work_commands = {
  { subcommand = "plan", command = "o1coder.plan", title = "Plan in pseudocode", at = "cursor" },
  { subcommand = "refine", command = "o1coder.refine", title = "Refine pseudocode", at = "cursor" },
  { subcommand = "implement", command = "o1coder.implement", title = "Implement with search", at = "cursor" },
  { subcommand = "tests", command = "o1coder.generateTests", title = "Generate tests", at = "cursor" },
  -- re-runs the last job whose edit was refused because the document changed meanwhile
  { subcommand = "retry", command = "o1coder.retry", title = "Retry the refused edit", at = "document" },
}

---@class o1coder.Options
---@field cmd string[] command line that starts the server (stdio)
---@field cli string[]|nil the `o1coder` CLI for :checkhealth (default: `cmd` without its trailing "serve")
---@field filetypes string[]
---@field root_markers string[]
---@field settings table the `o1coder` settings section sent to the server
---@field progress boolean echo work-done progress in the command line
---@field ghost_text o1coder.GhostOptions
---@field on_attach fun(client: vim.lsp.Client, bufnr: integer)|nil

---@class o1coder.GhostOptions
---@field enabled boolean show the server's inline completions as ghost text while typing
---@field debounce_ms integer wait after the last change before asking (0.11; 0.12 has its own)
---@field accept_key string|false insert-mode key accepting the ghost text (else it does what it did)
---@field hl_group string highlight of the ghost text (0.11)
---@field native boolean|nil use 0.12's vim.lsp.inline_completion when present (false: the extmarks)
M.defaults = {
  cmd = { "o1coder", "serve" },
  cli = nil,
  filetypes = { "python" },
  root_markers = { "pyproject.toml", ".git" },
  settings = {},
  progress = true,
  ghost_text = {
    enabled = true,
    debounce_ms = 100,
    accept_key = "<Tab>",
    hl_group = "O1coderGhostText",
    native = nil,
  },
  on_attach = nil,
}

---@type o1coder.Options
M.options = vim.deepcopy(M.defaults)

---@param opts table|nil
---@return o1coder.Options
function M.set(opts)
  opts = opts or {}
  vim.validate("opts", opts, "table")
  vim.validate("cmd", opts.cmd, "table", true)
  vim.validate("cli", opts.cli, "table", true)
  vim.validate("filetypes", opts.filetypes, "table", true)
  vim.validate("root_markers", opts.root_markers, "table", true)
  vim.validate("settings", opts.settings, "table", true)
  vim.validate("progress", opts.progress, "boolean", true)
  vim.validate("ghost_text", opts.ghost_text, { "table", "boolean" }, true)
  vim.validate("on_attach", opts.on_attach, "function", true)
  opts = vim.deepcopy(opts)
  if type(opts.ghost_text) == "boolean" then
    opts.ghost_text = { enabled = opts.ghost_text }
  end
  local options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  options.ghost_text = M.ghost_options(options.ghost_text)
  -- lists replace the defaults instead of merging into them
  for _, key in ipairs({ "cmd", "cli", "filetypes", "root_markers" }) do
    if opts[key] then
      options[key] = vim.deepcopy(opts[key])
    end
  end
  M.options = options
  M.configured = true
  return options
end

--- Checked `ghost_text` options (`setup({ ghost_text = ... })`, `require("o1coder.ghost").setup(...)`).
---@param ghost table
---@return o1coder.GhostOptions
function M.ghost_options(ghost)
  vim.validate("ghost_text.enabled", ghost.enabled, "boolean")
  vim.validate("ghost_text.debounce_ms", ghost.debounce_ms, "number")
  vim.validate("ghost_text.accept_key", ghost.accept_key, { "string", "boolean" })
  vim.validate("ghost_text.hl_group", ghost.hl_group, "string")
  vim.validate("ghost_text.native", ghost.native, "boolean", true)
  if ghost.accept_key == true then
    error("ghost_text.accept_key: a key such as \"<Tab>\", or false for none")
  end
  return ghost
end

--- Empty tables in place become JSON objects (Lua's `{}` is encoded as `[]`, which the server
--- rightly refuses for a settings section). Settings values are never lists.
---@param tbl table
---@return table
function M.as_object(tbl)
  if next(tbl) == nil then
    return vim.empty_dict()
  end
  for key, value in pairs(tbl) do
    if type(value) == "table" and (next(value) == nil or not vim.islist(value)) then
      tbl[key] = M.as_object(value)
    end
  end
  return tbl
end

--- The CLI for :checkhealth: `cli` if set, else the server command without its "serve".
---@param options o1coder.Options|nil
---@param cmd string[]|nil the server command (default: options.cmd)
---@return string[]
function M.cli(options, cmd)
  options = options or M.options
  if options.cli then
    return vim.deepcopy(options.cli)
  end
  cmd = cmd or options.cmd
  if type(cmd) == "table" and cmd[#cmd] == "serve" and #cmd > 1 then
    return vim.list_slice(cmd, 1, #cmd - 1)
  end
  return { "o1coder" }
end

--- The client configuration, for `vim.lsp.start` (setup) and `lsp/o1coder.lua` (vim.lsp.enable).
---@param options o1coder.Options|nil
---@return vim.lsp.Config
function M.lsp_config(options)
  options = options or M.options
  local commands = {}
  for _, work in ipairs(M.work_commands) do
    -- Code actions carry these commands; running them here (not as a bare executeCommand)
    -- gives them the outcome notification the :O1coder subcommands have.
    commands[work.command] = function(command, ctx)
      local client = vim.lsp.get_client_by_id(ctx.client_id)
      if client then
        require("o1coder.commands").run(client, command.command, (command.arguments or {})[1], ctx.bufnr)
      end
    end
  end
  return {
    name = M.name,
    cmd = vim.deepcopy(options.cmd),
    filetypes = vim.deepcopy(options.filetypes),
    root_markers = vim.deepcopy(options.root_markers),
    settings = { [M.name] = vim.deepcopy(options.settings) },
    commands = commands,
    before_init = function(params, config)
      config.settings = config.settings or {}
      config.settings[M.name] = M.as_object(config.settings[M.name] or {})
      params.initializationOptions = { [M.name] = config.settings[M.name] }
    end,
    on_attach = options.on_attach,
  }
end

return M
