-- The plugin without a server: the command, its completion, the LSP config, settings encoding.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "harness.lua"))

H.run(function()
  local R = H.result
  local config = require("o1coder.config")
  local commands = require("o1coder.commands")

  R.command_defined = vim.api.nvim_get_commands({}).O1coder ~= nil
  R.subcommands = commands.names()
  R.complete_im = vim.fn.getcompletion("O1coder im", "cmdline")
  R.complete_cancel = vim.fn.getcompletion("O1coder cancel ", "cmdline")
  R.complete_all = vim.fn.getcompletion("O1coder ", "cmdline")

  local resolved = vim.lsp.config.o1coder
  R.lsp_config = {
    cmd = resolved.cmd,
    filetypes = resolved.filetypes,
    root_markers = resolved.root_markers,
    commands = vim.tbl_keys(resolved.commands),
  }

  local function init_options(settings)
    local cfg = config.lsp_config(vim.tbl_extend("force", config.options, { settings = settings }))
    local params = {}
    cfg.before_init(params, cfg)
    return vim.json.encode(params.initializationOptions)
  end
  R.init_options_empty = init_options({})
  R.init_options = init_options({ models = {}, search = { strategy = "greedy", budgetTokens = 400 } })

  R.cli_default = config.cli(config.defaults)
  R.cli_python = config.cli(config.defaults, { "/venv/bin/python", "-m", "o1coder", "serve" })
  R.cli_explicit = config.cli(vim.tbl_extend("force", config.defaults, { cli = { "my-o1coder" } }))

  local ok, err = pcall(require("o1coder").setup, { settings = "search.strategy=greedy" })
  assert(not ok, "setup() accepted a string for settings")
  R.bad_setup_error = tostring(err)

  -- A buffer without the server: the subcommands say so.
  vim.cmd.enew()
  vim.bo.filetype = "text"
  vim.cmd("O1coder implement")
  vim.cmd("O1coder nonsense")

  R.outcome_applied = { commands.outcome("Implement with search", { applied = true, reason = "3/3 tests pass" }) }
  R.outcome_refused = { commands.outcome("Implement with search", { applied = false, reason = "cancelled" }) }
  R.outcome_bad = { commands.outcome("Implement with search", "nonsense") }
  R.model_lines = commands.model_lines({
    roles = {
      { role = "policy", model = "qwen2.5-coder-0.5b", path = "/m/q.gguf", loaded = true, error = vim.NIL },
      { role = "prm", model = "/x.gguf", path = vim.NIL, loaded = false, error = "no such file" },
    },
    busy = false,
  })
  R.cancel_none = commands.cancel_message({ cancelled = {} })
  R.cancel_one = commands.cancel_message({
    cancelled = { { uri = "file:///p/demo.py", title = "Implement with search", job = 2, stopMs = 41.6, wasRunning = true } },
  })
end)
