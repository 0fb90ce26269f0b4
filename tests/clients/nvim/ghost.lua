-- Ghost text in a real headless Neovim with the real server: keys are typed into insert mode
-- (nvim_input, read by Neovim's main loop) and the script watches the plugin's extmarks.
--
-- params.mode:
--   "accept": type into the body, wait for the ghost text, accept it with the accept key, write.
--   "cancel": typing clears the shown ghost text, and typing while a request is in flight
--             cancels it ($/cancelRequest); the accept key falls back to its own meaning.
--   "disabled": ghost_text = { enabled = false }: no request, no mapping; :O1coder ghost on/off.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "harness.lua"))

local P = H.params
local R = H.result

local function ghost()
  return require("o1coder.ghost")
end

--- The ghost text's extmarks in `bufnr`: {row, col, inline, virt_lines}.
local function marks(bufnr)
  local out = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, ghost().ns, 0, -1, { details = true })) do
    local details = mark[4]
    local inline = table.concat(vim.tbl_map(function(chunk)
      return chunk[1]
    end, details.virt_text or {}))
    local lines = vim.tbl_map(function(line)
      return table.concat(vim.tbl_map(function(chunk)
        return chunk[1]
      end, line))
    end, details.virt_lines or {})
    out[#out + 1] = { row = mark[2], col = mark[3], inline = inline, virt_lines = lines }
  end
  return out
end

--- What the extmarks show: the inline text and the virtual lines, joined by newlines.
local function shown_text(bufnr)
  local mark = marks(bufnr)[1]
  if not mark then
    return nil
  end
  return table.concat(vim.list_extend({ mark.inline }, mark.virt_lines), "\n")
end

--- Records every request and cancel the client sends.
local function spy(client)
  R.requests, R.cancelled = {}, {}
  local request, cancel = client.request, client.cancel_request
  client.request = function(self, method, params, handler, bufnr)
    local ok, id = request(self, method, params, handler, bufnr)
    if method == "textDocument/inlineCompletion" then
      table.insert(R.requests, { id = id, trigger = params.context.triggerKind, position = params.position })
    end
    return ok, id
  end
  client.cancel_request = function(self, id)
    table.insert(R.cancelled, id)
    return cancel(self, id)
  end
end

local function in_flight(bufnr)
  local state = ghost().buffers[bufnr]
  return state ~= nil and state.request ~= nil
end

H.run_async(function()
  require("o1coder").setup(P.setup)
  local bufnr, client = H.open_and_attach(P.file)
  spy(client)
  R.native = ghost().native()
  R.attached = ghost().buffers[bufnr] ~= nil
  R.tab_mapping = vim.fn.maparg("<Tab>", "i", false, true).buffer == 1
  vim.api.nvim_win_set_cursor(0, { P.line + 1, 0 })

  if P.mode == "accept" then
    -- `o` opens the body's line (Python's indent plugin indents it), then the typing
    H.type("o", 0)
    H.type(P.keys, P.gap_ms)
    R.typed_line = vim.api.nvim_get_current_line()
    H.await(P.wait_ms, function()
      return ghost().visible(bufnr)
    end, "the ghost text to appear")
    R.marks = marks(bufnr)
    R.shown = shown_text(bufnr)
    R.ghost_text = ghost().text(bufnr)
    R.mode_when_shown = vim.api.nvim_get_mode().mode
    H.type(P.accept_key or "<Tab>", 0)
    H.await(5000, function()
      return not ghost().visible(bufnr) and #marks(bufnr) == 0
    end, "the accepted ghost text's marks to go")
    R.after_accept = H.buffer_text(bufnr)
    R.cursor_after_accept = vim.api.nvim_win_get_cursor(0)
    H.type("<Esc>", 0)
    H.await(5000, function()
      return vim.api.nvim_get_mode().mode == "n"
    end, "normal mode")
    vim.cmd.write()
    R.text = H.buffer_text(bufnr)
    R.marks_after = #marks(bufnr)
  elseif P.mode == "cancel" then
    -- the extmarks are looked at as each change happens, before any new answer can come
    R.marks_at_change = {}
    vim.api.nvim_create_autocmd("TextChangedI", {
      buffer = bufnr,
      callback = function()
        table.insert(R.marks_at_change, #marks(bufnr))
      end,
    })
    H.type("o", 0)
    H.type(P.keys, P.gap_ms)
    H.await(P.wait_ms, function()
      return ghost().visible(bufnr)
    end, "the ghost text to appear")
    R.shown = shown_text(bufnr)
    local changes = #R.marks_at_change
    H.type("a", 0) -- typing clears it
    H.await(5000, function()
      return #R.marks_at_change > changes
    end, "TextChangedI after typing")
    R.marks_after_typing = R.marks_at_change[changes + 1]
    R.visible_after_typing = ghost().visible(bufnr)
    -- typing while a request is in flight cancels it
    H.await(P.wait_ms, function()
      return in_flight(bufnr)
    end, "the request after typing to be sent")
    local pending = ghost().buffers[bufnr].request.id
    H.type(" ", 0)
    H.await(5000, function()
      return vim.tbl_contains(R.cancelled, pending)
    end, "the in-flight request to be cancelled by typing")
    R.cancelled_by_typing = pending
    -- so does leaving insert mode
    H.await(P.wait_ms, function()
      return in_flight(bufnr)
    end, "the next request to be sent")
    pending = ghost().buffers[bufnr].request.id
    H.type("<Esc>", 0)
    H.await(5000, function()
      return vim.api.nvim_get_mode().mode == "n" and vim.tbl_contains(R.cancelled, pending)
    end, "normal mode and the request cancelled")
    R.cancelled_by_esc = pending
    R.marks_after_esc = #marks(bufnr)
    R.in_flight_after_esc = in_flight(bufnr)
    -- with nothing shown, the accept key does what it did (Python's indent inserts blanks)
    H.type("A", 0)
    local line_before = vim.api.nvim_get_current_line()
    H.type("<Tab>", 0)
    R.tab_line_before = line_before
    R.tab_line_after = vim.api.nvim_get_current_line()
    H.type("<Esc>", 0)
    R.text = H.buffer_text(bufnr)
  elseif P.mode == "disabled" then
    R.state_when_disabled = ghost().buffers[bufnr] ~= nil
    H.type("o", 0)
    H.type(P.keys, P.gap_ms)
    H.sleep(P.quiet_ms) -- many debounce periods: a request, if any, would have been sent
    R.requests_when_disabled = #R.requests
    R.marks_when_disabled = #marks(bufnr)
    H.type("<Tab>", 0)
    R.tab_line = vim.api.nvim_get_current_line()
    H.type("<Esc>", 0)
    vim.cmd("O1coder ghost on")
    R.attached_after_on = ghost().buffers[bufnr] ~= nil
    R.tab_mapping_after_on = vim.fn.maparg("<Tab>", "i", false, true).buffer == 1
    vim.cmd("O1coder ghost off")
    R.attached_after_off = ghost().buffers[bufnr] ~= nil
    R.tab_mapping_after_off = vim.fn.maparg("<Tab>", "i", false, true).buffer == 1
  else
    error("unknown mode " .. tostring(P.mode))
  end
end)
