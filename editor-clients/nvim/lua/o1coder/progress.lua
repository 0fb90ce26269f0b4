--- The server's work-done progress ($/progress) from the LspProgress autocmd: echoed in the
--- command line while it runs, and kept for `:O1coder status` and statuslines.
local config = require("o1coder.config")

local M = {}

---@type table<string, {client_id: integer, title: string, message: string|nil, percentage: integer|nil}>
M.active = {}

local function line(entry)
  local parts = { entry.title or "working" }
  if entry.percentage then
    parts[#parts + 1] = ("%d%%"):format(entry.percentage)
  end
  if entry.message and entry.message ~= "" then
    parts[#parts + 1] = entry.message
  end
  return table.concat(parts, " ")
end

--- One line per running piece of work, e.g. "o1coder: Implement with search: add() 40% searching · 3 nodes · 12 s".
---@return string[]
function M.lines()
  local lines = {}
  for key, entry in pairs(M.active) do
    if vim.lsp.get_client_by_id(entry.client_id) then
      lines[#lines + 1] = line(entry)
    else -- the client stopped: its work reports no end
      M.active[key] = nil
    end
  end
  table.sort(lines)
  return lines
end

--- For a statusline: "o1coder: Implement with search: add() 40% ..." while work runs, else "".
---@return string
function M.status()
  return table.concat(M.lines(), "; ")
end

---@param ev {data: {client_id: integer, params: lsp.ProgressParams}}
function M.on_progress(ev)
  local client = vim.lsp.get_client_by_id(ev.data.client_id)
  local value = ev.data.params.value
  if not client or client.name ~= config.name or type(value) ~= "table" then
    return
  end
  local key = ("%d:%s"):format(client.id, tostring(ev.data.params.token))
  local text
  if value.kind == "end" then
    local entry = M.active[key]
    M.active[key] = nil
    text = ("%s: %s"):format(value.title or (entry and entry.title) or "done", value.message or "done")
  else
    local entry = M.active[key] or { client_id = client.id, title = value.title }
    entry.title = value.title or entry.title
    entry.message = value.message or entry.message
    entry.percentage = value.percentage or entry.percentage
    M.active[key] = entry
    text = line(entry)
  end
  if config.options.progress then
    vim.api.nvim_echo({ { text } }, false, {}) -- the server's titles start with "o1coder: "
  end
  vim.cmd.redrawstatus({ bang = true })
end

function M.setup()
  local group = vim.api.nvim_create_augroup("o1coder.progress", { clear = true })
  vim.api.nvim_create_autocmd("LspProgress", {
    group = group,
    pattern = { "begin", "report", "end" },
    desc = "o1-coder: show the server's progress",
    callback = M.on_progress,
  })
end

return M
