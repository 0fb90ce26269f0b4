--- Ghost text: the server's inline completion (`textDocument/inlineCompletion`) shown after the
--- cursor while typing in insert mode, accepted with a key.
---
--- Neovim 0.12+ has `vim.lsp.inline_completion`: it is enabled for the o1coder client and the
--- accept key calls its `get()`. On 0.11 this module does it itself: a request `debounce_ms`
--- after the last change, the in-flight one cancelled (`$/cancelRequest`) by the next change,
--- the answer drawn with extmarks (the rest of the line inline, later lines as virtual lines),
--- cleared by typing, moving or leaving insert mode, and put in the buffer by the accept key.
---
--- Autocmds for your own use (and the tests'): `User O1coderGhostShown` (data: bufnr, text,
--- requested_at and shown_at in ms from vim.uv.hrtime) and `User O1coderGhostAccepted`.
local config = require("o1coder.config")

local M = {}

local api = vim.api
local AUTOMATIC, INVOKED = 2, 1 -- lsp.InlineCompletionTriggerKind
local METHOD = "textDocument/inlineCompletion"

M.ns = api.nvim_create_namespace("o1coder.ghost")

---@class o1coder.GhostShown
---@field extmark integer
---@field row integer 0-based
---@field col integer byte column of the cursor when shown
---@field start integer byte column where the item's range starts
---@field finish integer byte column where it ends
---@field lines string[] the text replacing the range
---@field text string what is shown after the cursor
---@field tick integer the buffer's changedtick when shown

---@class o1coder.GhostState
---@field client_id integer
---@field timer uv.uv_timer_t|nil
---@field seq integer the latest request's number: older answers are dropped
---@field request {client_id: integer, id: integer}|nil the request in flight
---@field requested_at number|nil ms, vim.uv.hrtime
---@field shown o1coder.GhostShown|nil
---@field group integer autocmd group
---@field native boolean
---@field at integer[]|nil {row, col} of the latest request: the cursor leaving it dismisses

---@type table<integer, o1coder.GhostState>
M.buffers = {}

local function now_ms()
  return vim.uv.hrtime() / 1e6
end

---@return table
local function options()
  return config.options.ghost_text or config.defaults.ghost_text
end

--- Whether this Neovim's own inline completion (0.12+) is used.
---@return boolean
function M.native()
  local use = options().native
  if use == false then
    return false
  end
  return type(vim.lsp.inline_completion) == "table" and type(vim.lsp.inline_completion.enable) == "function"
end

---@param bufnr integer|nil
---@return integer
local function resolve(bufnr)
  return (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
end

local function fire(pattern, data)
  api.nvim_exec_autocmds("User", { pattern = pattern, modeline = false, data = data })
end

-- ------------------------------------------------------------------ the 0.11 fallback

local function clear_mark(bufnr, state)
  if state.shown then
    pcall(api.nvim_buf_del_extmark, bufnr, M.ns, state.shown.extmark)
    state.shown = nil
  end
end

local function cancel_request(state)
  local request = state.request
  state.request = nil
  state.seq = state.seq + 1 -- an answer still on its way is dropped
  if request then
    local client = vim.lsp.get_client_by_id(request.client_id)
    if client then
      client:cancel_request(request.id) -- $/cancelRequest: the server stops the model
    end
  end
end

local function stop_timer(state)
  if state.timer then
    state.timer:stop()
  end
end

--- Hides the ghost text of `bufnr` and cancels what is pending for it.
---@param bufnr integer|nil
function M.dismiss(bufnr)
  bufnr = resolve(bufnr)
  local state = M.buffers[bufnr]
  if not state or state.native then
    return
  end
  stop_timer(state)
  cancel_request(state)
  clear_mark(bufnr, state)
end

---@param text string
---@return string
local function displayable(text)
  return (text:gsub("\t", string.rep(" ", vim.bo.tabstop)))
end

---@param client vim.lsp.Client
---@param bufnr integer
---@param position lsp.Position
---@return integer
local function byte_col(client, bufnr, position)
  local line = api.nvim_buf_get_lines(bufnr, position.line, position.line + 1, false)[1] or ""
  local ok, col = pcall(vim.str_byteindex, line, client.offset_encoding, position.character, false)
  return ok and col or #line
end

--- The first usable item of an inlineCompletion answer (InlineCompletionList or a list of
--- InlineCompletionItem), placed in the buffer: its one-line range in bytes (from the client's
--- offset encoding, UTF-16 by default), the lines replacing it, and what is shown after the
--- cursor. nil when it does not extend what is typed from the range's start to the cursor.
---@param client {offset_encoding: string}
---@param row integer 0-based cursor row
---@param col integer cursor byte column
---@return o1coder.GhostShown|nil
function M.place(client, bufnr, result, row, col)
  local items = type(result) == "table" and (result.items or result) or {}
  for _, item in ipairs(items) do
    local insert = item.insertText
    if type(insert) == "table" then
      insert = insert.value -- a snippet (StringValue): shown and inserted as its text
    end
    local range = item.range
    if type(insert) == "string" and (range == nil or range.start.line == row and range["end"].line == row) then
      local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
      local start = range and byte_col(client, bufnr, range.start) or col
      local finish = range and byte_col(client, bufnr, range["end"]) or col
      finish = math.max(finish, col)
      local typed = line:sub(start + 1, col)
      local lines = vim.split(insert, "\n", { plain = true })
      if start <= col and vim.startswith(lines[1], typed) then
        local shown = vim.list_extend({ lines[1]:sub(#typed + 1) }, vim.list_slice(lines, 2))
        local text = table.concat(shown, "\n")
        if vim.trim(text) ~= "" then
          return { row = row, col = col, start = start, finish = finish, lines = lines, text = text }
        end
      end
    end
  end
end

local function show(bufnr, state, shown)
  local hl = options().hl_group
  local first, later = shown.text:match("^([^\n]*)\n?(.*)$")
  local opts = { hl_mode = "combine", priority = 200 }
  if first ~= "" then
    opts.virt_text = { { displayable(first), hl } }
    opts.virt_text_pos = "inline"
  end
  if shown.text:find("\n", 1, true) then
    opts.virt_lines = vim.tbl_map(function(text)
      return { { displayable(text), hl } }
    end, vim.split(later, "\n", { plain = true }))
  end
  shown.extmark = api.nvim_buf_set_extmark(bufnr, M.ns, shown.row, shown.col, opts)
  shown.tick = api.nvim_buf_get_changedtick(bufnr)
  state.shown = shown
  fire("O1coderGhostShown", { bufnr = bufnr, text = shown.text, requested_at = state.requested_at, shown_at = now_ms() })
end

--- Asks the server for ghost text at the cursor now (Invoked: in a stub's body the
--- server answers with the pseudocode-first body, which takes seconds).
---@param bufnr integer|nil
---@param trigger integer|nil lsp.InlineCompletionTriggerKind (default Invoked)
function M.request(bufnr, trigger)
  bufnr = resolve(bufnr)
  local state = M.buffers[bufnr]
  if not state or bufnr ~= api.nvim_get_current_buf() or not options().enabled then
    return
  end
  if state.native then
    vim.lsp.inline_completion.get({ bufnr = bufnr })
    return
  end
  local client = vim.lsp.get_client_by_id(state.client_id)
  if not client or not api.nvim_get_mode().mode:match("^i") or vim.fn.pumvisible() == 1 then
    return
  end
  stop_timer(state)
  cancel_request(state)
  clear_mark(bufnr, state)
  local row, col = unpack(api.nvim_win_get_cursor(0))
  row = row - 1
  state.at = { row, col }
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = trigger or INVOKED }
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local seq = state.seq + 1
  state.seq = seq
  state.requested_at = now_ms()
  local ok, id = client:request(METHOD, params, function(err, result)
    if state.seq ~= seq then
      return -- superseded or cancelled
    end
    state.request = nil
    if err or result == nil or not api.nvim_buf_is_valid(bufnr) then
      return
    end
    local cursor = api.nvim_win_get_cursor(0)
    if
      api.nvim_get_current_buf() ~= bufnr
      or api.nvim_buf_get_changedtick(bufnr) ~= tick
      or cursor[1] - 1 ~= row
      or cursor[2] ~= col
      or not api.nvim_get_mode().mode:match("^i")
    then
      return -- the text or the cursor moved on
    end
    local shown = M.place(client, bufnr, result, row, col)
    if shown then
      show(bufnr, state, shown)
    end
  end, bufnr)
  if ok and id then
    state.request = { client_id = client.id, id = id }
  end
end

--- Schedules an Automatic request `debounce_ms` from now, replacing one scheduled before.
---@param bufnr integer
function M.schedule(bufnr)
  local state = M.buffers[bufnr]
  if not state or state.native or not options().enabled then
    return
  end
  state.timer = state.timer or vim.uv.new_timer()
  state.timer:stop()
  state.timer:start(
    math.max(0, options().debounce_ms),
    0,
    vim.schedule_wrap(function()
      if M.buffers[bufnr] == state and api.nvim_buf_is_valid(bufnr) then
        M.request(bufnr, AUTOMATIC)
      end
    end)
  )
end

--- Whether ghost text is shown in `bufnr` (and still matches the buffer).
---@param bufnr integer|nil
---@return boolean
function M.visible(bufnr)
  bufnr = resolve(bufnr)
  local state = M.buffers[bufnr]
  if not state or state.native then
    return false
  end
  return state.shown ~= nil and state.shown.tick == api.nvim_buf_get_changedtick(bufnr)
end

--- What is shown after the cursor in `bufnr`, or nil.
---@param bufnr integer|nil
---@return string|nil
function M.text(bufnr)
  bufnr = resolve(bufnr)
  return M.visible(bufnr) and M.buffers[bufnr].shown.text or nil
end

--- Puts the shown ghost text in the buffer and the cursor after it. Returns whether it did.
---@param bufnr integer|nil
---@return boolean
function M.accept(bufnr)
  bufnr = resolve(bufnr)
  local state = M.buffers[bufnr]
  if not state then
    return false
  end
  if state.native then
    return vim.lsp.inline_completion.get({ bufnr = bufnr }) and true or false
  end
  if not M.visible(bufnr) then
    return false
  end
  local shown = state.shown
  stop_timer(state)
  cancel_request(state)
  clear_mark(bufnr, state)
  api.nvim_buf_set_text(bufnr, shown.row, shown.start, shown.row, shown.finish, shown.lines)
  local last = shown.lines[#shown.lines]
  local row = shown.row + #shown.lines - 1
  local col = (#shown.lines == 1 and shown.start or 0) + #last
  if api.nvim_get_current_buf() == bufnr then
    api.nvim_win_set_cursor(0, { row + 1, col })
  end
  fire("O1coderGhostAccepted", { bufnr = bufnr, text = shown.text })
  return true
end

-- ------------------------------------------------------------------ attaching

--- The accept key's mapping: the ghost text when there is one, else the key itself.
---@param key string
---@param bufnr integer
local function map_accept(key, bufnr)
  vim.keymap.set("i", key, function()
    local state = M.buffers[bufnr]
    if state and state.native then
      if vim.lsp.inline_completion.get({ bufnr = bufnr }) then
        return ""
      end
      return key
    end
    if M.visible(bufnr) then
      return "<Cmd>lua require('o1coder.ghost').accept()<CR>"
    end
    return key
  end, { buffer = bufnr, expr = true, replace_keycodes = true, desc = "o1-coder: accept the ghost text" })
end

--- Shows ghost text in `bufnr` from `client` (called on LspAttach of the o1coder client).
---@param bufnr integer
---@param client vim.lsp.Client
function M.attach(bufnr, client)
  local opts = options()
  if not opts.enabled or M.buffers[bufnr] then
    return
  end
  local state = { client_id = client.id, seq = 0, native = M.native() }
  state.group = api.nvim_create_augroup(("o1coder.ghost.%d"):format(bufnr), { clear = true })
  M.buffers[bufnr] = state
  if type(opts.accept_key) == "string" and opts.accept_key ~= "" then
    map_accept(opts.accept_key, bufnr)
  end
  if state.native then
    local ok = pcall(vim.lsp.inline_completion.enable, true, { bufnr = bufnr, client_id = client.id })
    if not ok then
      vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    end
    return
  end
  local function on_change(ev)
    M.dismiss(ev.buf)
    if vim.fn.pumvisible() == 0 then
      M.schedule(ev.buf)
    end
  end
  local function dismiss(ev)
    M.dismiss(ev.buf)
  end
  api.nvim_create_autocmd({ "InsertEnter", "TextChangedI" }, {
    group = state.group,
    buffer = bufnr,
    desc = "o1-coder: ghost text after typing",
    callback = on_change,
  })
  api.nvim_create_autocmd("TextChangedP", {
    group = state.group,
    buffer = bufnr,
    desc = "o1-coder: no ghost text beside the popup menu",
    callback = dismiss,
  })
  api.nvim_create_autocmd("CursorMovedI", {
    group = state.group,
    buffer = bufnr,
    desc = "o1-coder: ghost text follows the cursor",
    callback = function(ev)
      local row, col = unpack(api.nvim_win_get_cursor(0))
      local at = state.at
      if not at or at[1] ~= row - 1 or at[2] ~= col then
        on_change(ev)
      end
    end,
  })
  api.nvim_create_autocmd({ "InsertLeave", "BufLeave", "WinLeave" }, {
    group = state.group,
    buffer = bufnr,
    desc = "o1-coder: no ghost text outside insert mode",
    callback = dismiss,
  })
end

--- Stops ghost text in `bufnr`.
---@param bufnr integer
function M.detach(bufnr)
  local state = M.buffers[bufnr]
  if not state then
    return
  end
  if state.native then
    pcall(vim.lsp.inline_completion.enable, false, { bufnr = bufnr })
  else
    M.dismiss(bufnr)
    if state.timer then
      state.timer:close()
    end
  end
  pcall(api.nvim_del_augroup_by_id, state.group)
  local key = options().accept_key
  if type(key) == "string" and key ~= "" then
    pcall(vim.keymap.del, "i", key, { buffer = bufnr })
  end
  M.buffers[bufnr] = nil
end

local function attached_buffers()
  local out = {}
  for _, client in ipairs(vim.lsp.get_clients({ name = config.name })) do
    for bufnr in pairs(client.attached_buffers) do
      out[#out + 1] = { bufnr = bufnr, client = client }
    end
  end
  return out
end

--- Turns ghost text on or off for every o1coder buffer (`:O1coder ghost on|off`).
---@param on boolean
function M.enable(on)
  config.options.ghost_text = vim.tbl_extend("force", options(), { enabled = on })
  for _, entry in ipairs(attached_buffers()) do
    if on then
      M.attach(entry.bufnr, entry.client)
    else
      M.detach(entry.bufnr)
    end
  end
end

--- Attaches to o1coder buffers, now and on LspAttach; safe to call more than once.
--- `opts` (optional) are `ghost_text` options, for users of vim.lsp.enable without setup().
---@param opts table|nil
function M.setup(opts)
  if opts then
    config.options.ghost_text = config.ghost_options(vim.tbl_extend("force", options(), opts))
  end
  api.nvim_set_hl(0, "O1coderGhostText", { link = "Comment", default = true })
  vim.keymap.set("i", "<Plug>(o1coder-ghost-accept)", function()
    M.accept()
  end, { desc = "o1-coder: accept the ghost text" })
  vim.keymap.set("i", "<Plug>(o1coder-ghost-dismiss)", function()
    M.dismiss()
  end, { desc = "o1-coder: hide the ghost text" })
  vim.keymap.set("i", "<Plug>(o1coder-ghost-request)", function()
    M.request(nil, INVOKED)
  end, { desc = "o1-coder: ask for ghost text now" })
  local group = api.nvim_create_augroup("o1coder.ghost", { clear = true })
  api.nvim_create_autocmd("LspAttach", {
    group = group,
    desc = "o1-coder: ghost text",
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == config.name then
        M.attach(ev.buf, client)
      end
    end,
  })
  api.nvim_create_autocmd("LspDetach", {
    group = group,
    desc = "o1-coder: ghost text",
    callback = function(ev)
      local state = M.buffers[ev.buf]
      if state and state.client_id == ev.data.client_id then
        M.detach(ev.buf)
      end
    end,
  })
  for _, entry in ipairs(attached_buffers()) do
    M.attach(entry.bufnr, entry.client)
  end
end

return M
