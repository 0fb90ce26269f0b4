--- `:O1coder {subcommand}`: the server's commands at the cursor, and what they answered.
local config = require("o1coder.config")

local M = {}

local function notify(message, level)
  vim.notify("o1-coder: " .. message, level or vim.log.levels.INFO, { title = "o1-coder" })
end

---@param bufnr integer|nil
---@return vim.lsp.Client|nil
function M.client(bufnr)
  return vim.lsp.get_clients({ name = config.name, bufnr = bufnr or vim.api.nvim_get_current_buf() })[1]
end

local function require_client()
  local client = M.client()
  if not client then
    notify("no o1coder server is attached to this buffer (see :checkhealth o1coder)", vim.log.levels.ERROR)
  end
  return client
end

---@param server_command string
local function work_title(server_command)
  for _, work in ipairs(config.work_commands) do
    if work.command == server_command then
      return work.title
    end
  end
  return server_command
end

--- The notification ending a work command: the server explains (`reason`), `applied` picks the level.
---@param title string
---@param result any the executeCommand result
---@return string message, integer level
function M.outcome(title, result)
  if type(result) ~= "table" or type(result.applied) ~= "boolean" then
    return ("%s: unexpected reply %s"):format(title, vim.inspect(result)), vim.log.levels.ERROR
  end
  local reason = type(result.reason) == "string" and vim.trim(result.reason) or ""
  if result.applied then
    return ("%s: applied%s"):format(title, reason ~= "" and (" (" .. reason .. ")") or ""), vim.log.levels.INFO
  end
  return ("%s: not applied%s"):format(title, reason ~= "" and (": " .. reason) or ""), vim.log.levels.WARN
end

--- The argument of a work command at the cursor of the current window: {uri, position,
--- version}, or {uri} for a command on the whole document (retry).
---@param client vim.lsp.Client
---@param work {at: "cursor"|"document"}
---@return table
function M.work_args(client, work)
  local bufnr = vim.api.nvim_get_current_buf()
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  if work.at == "document" then
    return { uri = params.textDocument.uri }
  end
  return { uri = params.textDocument.uri, position = params.position, version = vim.lsp.util.buf_versions[bufnr] }
end

--- Runs a work command; notifies its outcome and fires `User O1coderDone` (data: command,
--- title, bufnr, result, err) when the server answers.
---@param client vim.lsp.Client
---@param server_command string e.g. "o1coder.implement"
---@param args table the command's argument ({uri, position, version})
---@param bufnr integer
function M.run(client, server_command, args, bufnr)
  local title = work_title(server_command)
  local params = { command = server_command, arguments = { args } }
  client:request("workspace/executeCommand", params, function(err, result)
    local message, level
    if err then
      message, level = ("%s failed: %s"):format(title, err.message or vim.inspect(err)), vim.log.levels.ERROR
    else
      message, level = M.outcome(title, result)
    end
    notify(message, level)
    vim.api.nvim_exec_autocmds("User", {
      pattern = "O1coderDone",
      modeline = false,
      data = { command = server_command, title = title, bufnr = bufnr, result = result, err = err },
    })
  end, bufnr)
end

local function execute(client, command, arguments, on_result)
  client:request("workspace/executeCommand", { command = command, arguments = arguments }, function(err, result)
    if err then
      notify(("%s failed: %s"):format(command, err.message or vim.inspect(err)), vim.log.levels.ERROR)
    else
      on_result(result)
    end
  end, vim.api.nvim_get_current_buf())
end

--- One line per role of the `o1coder.showModels` reply
--- (`{"roles": [{role, model, path, loaded, error}], "busy": bool}`).
---@param result any
---@return string[]
function M.model_lines(result)
  local roles = type(result) == "table" and type(result.roles) == "table" and result.roles or {}
  local lines = {}
  for _, entry in ipairs(roles) do
    local function text(key)
      return type(entry[key]) == "string" and entry[key] or ""
    end
    local state = text("error") ~= "" and ("error: " .. text("error")) or (entry.loaded == true and "loaded" or "not loaded")
    local path = text("path") ~= "" and (" " .. text("path")) or ""
    lines[#lines + 1] = ("%s: %s (%s)%s"):format(text("role"), text("model"), state, path)
  end
  return lines
end

--- What `o1coder.cancel` answered (`{"cancelled": [{title, uri, stopMs, ...}]}`), in words.
---@param result any
---@return string
function M.cancel_message(result)
  local cancelled = type(result) == "table" and type(result.cancelled) == "table" and result.cancelled or {}
  if #cancelled == 0 then
    return "nothing was running"
  end
  local parts = {}
  for _, job in ipairs(cancelled) do
    local file = type(job.uri) == "string" and job.uri:match("[^/]*$") or ""
    local stopped = type(job.stopMs) == "number" and (", stopped in %d ms"):format(math.floor(job.stopMs + 0.5)) or ""
    parts[#parts + 1] = ("%s%s%s"):format(tostring(job.title or "work"), file ~= "" and (" on " .. file) or "", stopped)
  end
  return "cancelled " .. table.concat(parts, "; ")
end

---@type table<string, fun(args: string[])>
local subcommands = {}

for _, work in ipairs(config.work_commands) do
  subcommands[work.subcommand] = function()
    local client = require_client()
    if client then
      M.run(client, work.command, M.work_args(client, work), vim.api.nvim_get_current_buf())
    end
  end
end

subcommands.cancel = function(args)
  local client = require_client()
  if not client then
    return
  end
  local all = args[1] == "all"
  local arguments = all and {} or { { uri = vim.uri_from_bufnr(vim.api.nvim_get_current_buf()) } }
  execute(client, "o1coder.cancel", arguments, function(result)
    notify(M.cancel_message(result))
  end)
end

subcommands.models = function()
  local client = require_client()
  if client then
    execute(client, "o1coder.showModels", {}, function(result)
      local lines = M.model_lines(result)
      notify(#lines > 0 and ("models:\n" .. table.concat(lines, "\n")) or ("models: " .. vim.inspect(result)))
    end)
  end
end

--- `:O1coder tree`: the search tree of the last Implement on this buffer, in the browser (the
--- server asks Neovim to open it, window/showDocument; without a browser the page's path is shown).
subcommands.tree = function()
  local client = require_client()
  if not client then
    return
  end
  local arguments = { { uri = vim.uri_from_bufnr(vim.api.nvim_get_current_buf()) } }
  execute(client, "o1coder.showTree", arguments, function(result)
    if type(result) ~= "table" then
      notify("tree: " .. vim.inspect(result), vim.log.levels.WARN)
    elseif result.shown then
      notify("search tree: " .. result.page)
    elseif result.page ~= nil and result.page ~= vim.NIL then
      notify("search tree page: " .. result.page .. " (" .. tostring(result.reason) .. ")")
    else
      notify(tostring(result.reason), vim.log.levels.WARN)
    end
  end)
end

--- `:O1coder ghost [on|off|toggle]`: ghost text for every o1coder buffer.
subcommands.ghost = function(args)
  local ghost = require("o1coder.ghost")
  local enabled = (config.options.ghost_text or config.defaults.ghost_text).enabled
  local arg = args[1] or "toggle"
  local on = ({ on = true, off = false, toggle = not enabled })[arg]
  if on == nil then
    notify("usage: :O1coder ghost [on|off|toggle]", vim.log.levels.ERROR)
    return
  end
  ghost.enable(on)
  notify("ghost text " .. (on and "on" or "off") .. (ghost.native() and " (vim.lsp.inline_completion)" or ""))
end

subcommands.status = function()
  local clients = vim.lsp.get_clients({ name = config.name })
  if #clients == 0 then
    notify("no o1coder server is running (see :checkhealth o1coder)", vim.log.levels.WARN)
    return
  end
  local lines = {}
  for _, client in ipairs(clients) do
    local info = client.server_info or {}
    lines[#lines + 1] = ("client %d: %s %s, root %s%s"):format(
      client.id,
      info.name or "?",
      info.version or "?",
      client.root_dir or "(none)",
      client.attached_buffers[vim.api.nvim_get_current_buf()] and ", attached to this buffer" or ""
    )
  end
  local progress = require("o1coder.progress").lines()
  vim.list_extend(lines, #progress > 0 and progress or { "no work running" })
  notify(table.concat(lines, "\n"))
end

subcommands.restart = function()
  local clients = vim.lsp.get_clients({ name = config.name })
  local buffers = {}
  for _, client in ipairs(clients) do
    vim.list_extend(buffers, vim.tbl_keys(client.attached_buffers))
    client:stop()
  end
  vim.wait(5000, function()
    return #vim.lsp.get_clients({ name = config.name }) == 0
  end, 50)
  for _, bufnr in ipairs(buffers) do
    if vim.api.nvim_buf_is_valid(bufnr) then
      require("o1coder").start(bufnr)
    end
  end
end

---@return string[]
function M.names()
  local names = vim.tbl_keys(subcommands)
  table.sort(names)
  return names
end

---@param arglead string
---@param cmdline string
---@return string[]
function M.complete(arglead, cmdline)
  local words = vim.split(vim.trim(cmdline), "%s+")
  local typing_first = #words == 1 or (#words == 2 and arglead ~= "")
  local arguments = { cancel = { "all" }, ghost = { "on", "off", "toggle" } }
  local candidates = typing_first and M.names() or arguments[words[2]] or {}
  return vim.tbl_filter(function(name)
    return vim.startswith(name, arglead)
  end, candidates)
end

--- Defines `:O1coder`; safe to call more than once.
function M.create()
  vim.api.nvim_create_user_command("O1coder", function(opts)
    local name = opts.fargs[1]
    local fn = name and subcommands[name]
    if not fn then
      notify(("usage: :O1coder {%s}"):format(table.concat(M.names(), "|")), vim.log.levels.ERROR)
      return
    end
    fn(vim.list_slice(opts.fargs, 2))
  end, {
    nargs = "+",
    complete = M.complete,
    desc = "o1-coder: plan, refine, implement, tests, retry, cancel [all], models, tree, ghost [on|off], status, restart",
  })
end

return M
