-- The real server, no model work: attach, root, commands, code actions, settings, :O1coder models/status.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "harness.lua"))

H.run(function()
  local R = H.result
  require("o1coder").setup(H.params.setup)
  local bufnr, client = H.open_and_attach(H.params.file)
  R.client_id = client.id
  R.root_dir = client.root_dir
  R.server_name = (client.server_info or {}).name
  R.server_commands = (client.server_capabilities.executeCommandProvider or {}).commands or {}

  vim.api.nvim_win_set_cursor(0, { H.params.line + 1, 4 })
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.context = { diagnostics = {} }
  local response = client:request_sync("textDocument/codeAction", params, 20000, bufnr)
  assert(response and not response.err, "codeAction failed: " .. vim.inspect(response))
  R.code_actions = vim.tbl_map(function(action)
    return action.title
  end, response.result or {})

  local function notification(prefix)
    for _, n in ipairs(R.notifications) do
      if vim.startswith(n.message, prefix) then
        return n.message
      end
    end
  end
  vim.cmd("O1coder models")
  H.wait(60000, function()
    return notification("o1-coder: models:") ~= nil
  end, ":O1coder models to answer")
  R.models_notification = notification("o1-coder: models:")

  vim.cmd("O1coder status")
  R.status_notification = notification("o1-coder: client ")
end)
