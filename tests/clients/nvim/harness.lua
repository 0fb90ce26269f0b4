-- Shared by the Lua scripts test_nvim.py runs in a headless Neovim.
-- Parameters come from the JSON file $O1CODER_TEST_PARAMS; `H.result` is written as JSON to
-- $O1CODER_TEST_RESULT when the script ends (pass or fail), then Neovim quits.
local H = {}

H.params = vim.json.decode(table.concat(vim.fn.readfile(os.getenv("O1CODER_TEST_PARAMS")), "\n"))
H.result = { notifications = {}, progress = {}, done = {} }

-- Every notification (outcomes, server messages) is recorded for the Python side to assert.
vim.notify = function(message, level)
  table.insert(H.result.notifications, { message = tostring(message), level = level or vim.log.levels.INFO })
end

vim.api.nvim_create_autocmd("LspProgress", {
  callback = function(ev)
    local value = ev.data.params.value
    table.insert(H.result.progress, { kind = value.kind, title = value.title, message = value.message })
  end,
})

vim.api.nvim_create_autocmd("User", {
  pattern = "O1coderDone",
  callback = function(ev)
    table.insert(H.result.done, { command = ev.data.command, result = ev.data.result, err = ev.data.err })
  end,
})

--- Waits on a real condition; fails the test with `what` when it does not come in `ms`.
function H.wait(ms, condition, what)
  if not vim.wait(ms, condition, 50) then
    error(("timed out after %d ms waiting for %s"):format(ms, what), 2)
  end
end

function H.buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, false), "\n") .. "\n"
end

--- Opens `path`, waits for the o1coder client to attach and finish initializing.
function H.open_and_attach(path, ms)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  H.wait(ms or 60000, function()
    local client = vim.lsp.get_clients({ name = "o1coder", bufnr = bufnr })[1]
    return client ~= nil and client.initialized == true
  end, "the o1coder client to attach and initialize")
  return bufnr, vim.lsp.get_clients({ name = "o1coder", bufnr = bufnr })[1]
end

local function finish(ok, err)
  H.result.ok = ok
  H.result.error = (not ok) and tostring(err) or nil
  vim.fn.writefile({ vim.json.encode(H.result) }, os.getenv("O1CODER_TEST_RESULT"))
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop(true)
  end
  vim.cmd("qall!")
end

--- Runs `fn`, records its error if any, writes the result and quits.
function H.run(fn)
  finish(xpcall(fn, debug.traceback))
end

--- Like H.run, but `fn` runs as a coroutine that gives Neovim's main loop the hand while it
--- waits (H.await, H.sleep, H.type): only there are typed keys (nvim_input) processed as in
--- an editor, insert mode and its autocmds included. vim.wait runs timers and LSP answers but
--- leaves typed keys queued.
function H.run_async(fn)
  local co = coroutine.create(function()
    finish(xpcall(fn, debug.traceback))
  end)
  vim.schedule(function()
    local ok, err = coroutine.resume(co)
    assert(ok, err)
  end)
end

local function now_ms()
  return vim.uv.hrtime() / 1e6
end
H.now_ms = now_ms

--- In H.run_async: yields to the main loop until `condition()` holds; fails with `what` after `ms`.
function H.await(ms, condition, what, interval)
  local co = assert(coroutine.running(), "H.await outside H.run_async")
  local deadline = now_ms() + ms
  while not condition() do
    if now_ms() > deadline then
      error(("timed out after %d ms waiting for %s"):format(ms, what), 2)
    end
    vim.defer_fn(function()
      local ok, err = coroutine.resume(co)
      assert(ok, err)
    end, interval or 10)
    coroutine.yield()
  end
end

--- In H.run_async: gives the main loop the hand for `ms`.
function H.sleep(ms)
  local until_ms = now_ms() + ms
  H.await(ms + 60000, function()
    return now_ms() >= until_ms
  end, "the clock", math.max(1, math.min(10, ms)))
end

-- Keys Neovim has read from the input (typed, not produced by a mapping), with when.
H.keys_read = 0
H.last_key_ms = nil
vim.on_key(function(_, typed)
  if typed ~= nil and typed ~= "" then
    H.keys_read = H.keys_read + 1
    H.last_key_ms = now_ms()
  end
end)

--- Splits nvim_input notation into keys: "ab<Tab>" -> { "a", "b", "<Tab>" }.
function H.keys(keys)
  local list = {}
  local i = 1
  while i <= #keys do
    local key = keys:match("^<[^<>]+>", i) or keys:sub(i, i)
    list[#list + 1] = key
    i = i + #key
  end
  return list
end

--- In H.run_async: types `keys` one key at a time, `gap_ms` apart, each read before the next.
function H.type(keys, gap_ms)
  local list = H.keys(keys)
  for index, key in ipairs(list) do
    local expected = H.keys_read + 1
    vim.api.nvim_input(key)
    H.await(10000, function()
      return H.keys_read >= expected
    end, "Neovim to read " .. key, 1)
    if index < #list and (gap_ms or 0) > 0 then
      H.sleep(gap_ms)
    end
  end
end

return H
