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
  -- ghost text options and mappings
  R.ghost_plugs = vim.tbl_map(function(name)
    return vim.fn.maparg(name, "i") ~= ""
  end, { "<Plug>(o1coder-ghost-accept)", "<Plug>(o1coder-ghost-dismiss)", "<Plug>(o1coder-ghost-request)" })
  R.ghost_defaults = config.defaults.ghost_text
  R.complete_ghost = vim.fn.getcompletion("O1coder ghost ", "cmdline")
  local bad_ghost_ok, bad_ghost_err = pcall(require("o1coder").setup, { ghost_text = { debounce_ms = "soon" } })
  R.bad_ghost_error = (not bad_ghost_ok) and tostring(bad_ghost_err) or nil
  R.ghost_off = config.set({ ghost_text = false }).ghost_text
  R.ghost_merged = config.set({ ghost_text = { accept_key = "<C-y>" } }).ghost_text
  vim.cmd("O1coder ghost sideways")

  -- Neovim 0.12's vim.lsp.inline_completion (a stand-in: this Neovim is 0.11) is used when present
  local ghost = require("o1coder.ghost")
  R.native_on_011 = ghost.native()
  config.set({})
  local calls = { enable = {}, get = 0 }
  local answer = true
  vim.lsp.inline_completion = {
    enable = function(on, filter)
      table.insert(calls.enable, { on = on, filter = filter })
    end,
    get = function()
      calls.get = calls.get + 1
      return answer
    end,
  }
  R.native_with_012 = ghost.native()
  local native_buf = vim.api.nvim_create_buf(true, false)
  ghost.attach(native_buf, { id = 42 })
  vim.api.nvim_set_current_buf(native_buf)
  local tab = vim.fn.maparg("<Tab>", "i", false, true)
  local tab_callback = tab.callback
  R.native_tab_buffer_local = tab.buffer == 1
  R.native_tab_when_accepted = tab_callback and tab_callback()
  answer = false
  R.native_tab_when_nothing = tab_callback and tab_callback()
  R.native_accept = ghost.accept(native_buf)
  ghost.detach(native_buf)
  R.native_calls = calls
  config.set({ ghost_text = { native = false } })
  R.native_when_refused = ghost.native()
  vim.lsp.inline_completion = nil
  config.set({})

  -- an answer's range is in UTF-16 code units: placed by bytes in the line
  local placed_buf = vim.api.nvim_create_buf(false, true)
  local line = '    s = "é😀"; ret'
  vim.api.nvim_buf_set_lines(placed_buf, 0, -1, false, { line })
  local utf16 = vim.str_utfindex(line, "utf-16")
  local function placed(result)
    local shown = ghost.place({ offset_encoding = "utf-16" }, placed_buf, result, 0, #line)
    return shown and { start = shown.start, finish = shown.finish, lines = shown.lines, text = shown.text } or vim.NIL
  end
  R.placed_list = placed({
    items = {
      {
        insertText = line .. "urn s\n    print(s)",
        range = { start = { line = 0, character = 0 }, ["end"] = { line = 0, character = utf16 } },
      },
    },
  })
  R.placed_mid = placed({ -- a range starting after the emoji (character 12), items as a bare list
    { insertText = '"; return s', range = { start = { line = 0, character = 12 }, ["end"] = { line = 0, character = utf16 } } },
  })
  R.placed_no_range = placed({ items = { { insertText = "urn s" } } })
  R.placed_other = placed({ items = { { insertText = "    x = 1", range = { start = { line = 0, character = 0 }, ["end"] = { line = 0, character = utf16 } } } } })
  R.placed_line_bytes, R.placed_line_utf16 = #line, utf16

  R.cancel_none = commands.cancel_message({ cancelled = {} })
  R.cancel_one = commands.cancel_message({
    cancelled = { { uri = "file:///p/demo.py", title = "Implement with search", job = 2, stopMs = 41.6, wasRunning = true } },
  })
end)
