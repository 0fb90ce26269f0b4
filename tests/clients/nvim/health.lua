-- :checkhealth o1coder after setup(params.setup); the report's lines go to result.health.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "harness.lua"))

H.run(function()
  require("o1coder").setup(H.params.setup)
  vim.cmd("checkhealth o1coder")
  H.wait(30000, function()
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
    return text:find("o1coder: models", 1, true) ~= nil or text:find("ERROR", 1, true) ~= nil
  end, "the health report")
  H.result.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
end)
