-- The real server and model: the "Implement with search" code action on a stub, until the edit lands.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "harness.lua"))

H.run(function()
  local R = H.result
  require("o1coder").setup(H.params.setup)
  local bufnr = H.open_and_attach(H.params.file)
  local before = H.buffer_text(bufnr)
  vim.api.nvim_win_set_cursor(0, { H.params.line + 1, 4 })

  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return action.title == "Implement with search"
    end,
  })
  H.wait(H.params.wait_ms, function()
    return #R.done > 0
  end, "the server to answer o1coder.implement")
  H.wait(10000, function()
    return H.buffer_text(bufnr) ~= before
  end, "the edit to reach the buffer")
  R.text = H.buffer_text(bufnr)
end)
