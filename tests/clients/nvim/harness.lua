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

--- Runs `fn`, records its error if any, writes the result and quits.
function H.run(fn)
  local ok, err = xpcall(fn, debug.traceback)
  H.result.ok = ok
  H.result.error = (not ok) and tostring(err) or nil
  vim.fn.writefile({ vim.json.encode(H.result) }, os.getenv("O1CODER_TEST_RESULT"))
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop(true)
  end
  vim.cmd("qall!")
end

return H
