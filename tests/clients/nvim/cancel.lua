-- The real server and model: start a long search with :O1coder implement, cancel it once the
-- model is generating, and check the worker stopped and the buffer is left as it was.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "harness.lua"))

local function notification(prefix)
  for _, n in ipairs(H.result.notifications) do
    if vim.startswith(n.message, prefix) then
      return n.message
    end
  end
end

H.run(function()
  local R = H.result
  require("o1coder").setup(H.params.setup)
  local bufnr = H.open_and_attach(H.params.file)
  vim.api.nvim_win_set_cursor(0, { H.params.line + 1, 4 })

  vim.cmd("O1coder implement")
  -- writing tests, planning, searching: the model decoding (not "starting" or "loading the model",
  -- which the server's own ticks repeat while nothing else is reported)
  local decoding = { "writing tests", "planning", "searching" }
  H.wait(H.params.wait_ms, function()
    for _, p in ipairs(R.progress) do
      local message = p.kind == "report" and p.message or ""
      if vim.iter(decoding):any(function(phase)
        return vim.startswith(message, phase)
      end) then
        R.cancelled_during = p.message
        return true
      end
    end
    return false
  end, "the model to start generating")
  -- the progress module (statusline / :O1coder status) shows the running work
  H.wait(5000, function()
    return require("o1coder").status():find("Implement with search", 1, true) ~= nil
  end, "require('o1coder').status() to show the work")
  R.status_during = require("o1coder").status()

  vim.cmd("O1coder cancel")
  H.wait(60000, function()
    return #R.done > 0
  end, "the server to answer the cancelled o1coder.implement")
  -- o1coder.cancel answers once the model worker has really returned
  H.wait(60000, function()
    return notification("o1-coder: cancelled ") ~= nil
  end, "o1coder.cancel to answer")
  R.cancel_notification = notification("o1-coder: cancelled ")
  H.wait(60000, function()
    return R.progress[#R.progress].kind == "end"
  end, "the progress to end")
  R.progress_ended = true
  R.status_after = require("o1coder").status()
  R.text = H.buffer_text(bufnr)
  R.modified = vim.bo[bufnr].modified
end)
