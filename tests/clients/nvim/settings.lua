-- The real server, no model work: bad settings reach it three ways at startup (initializationOptions,
-- workspace/configuration, didChangeConfiguration); the user gets one error naming every bad key.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "harness.lua"))

local logged = {}
local log_message = vim.lsp.handlers["window/logMessage"]
vim.lsp.handlers["window/logMessage"] = function(err, params, ctx)
  table.insert(logged, params.message)
  return log_message(err, params, ctx)
end

local function seen(text)
  for _, line in ipairs(logged) do
    if line:find(text, 1, true) then
      return true
    end
  end
  return false
end

H.run(function()
  require("o1coder").setup(H.params.setup)
  H.open_and_attach(H.params.file)
  for _, route in ipairs({ "initializationOptions", "workspace/configuration", "workspace/didChangeConfiguration" }) do
    H.wait(60000, function()
      return seen("rejected settings from " .. route)
    end, "the server to receive the settings by " .. route)
  end
  vim.cmd("O1coder models") -- one more round trip: anything the server sent before it has arrived
  H.wait(60000, function()
    for _, n in ipairs(H.result.notifications) do
      if n.message:find("models:", 1, true) then
        return true
      end
    end
    return false
  end, "the models reply")
  H.result.logged = logged
end)
