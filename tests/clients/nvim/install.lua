-- After an install the README documents: is the plugin loaded, from where, and configured?
-- params.mode: "startup" (Neovim loaded it itself: a native package or init.lua's runtimepath),
-- "lazy" (params.spec: lazy.nvim's spec, evaluated), "packer" (params.spec: the `use({...})` call).
-- The plugin managers are not installed here; what they do with such a spec is done by hand:
-- put the folder on the runtimepath, source its plugin/ files, then call setup(opts) / config().
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "harness.lua"))

local function load_folder(dir)
  local path = vim.fs.normalize(dir) -- both managers expand a leading ~
  assert(vim.fn.isdirectory(path) == 1, ("the spec's folder %s does not exist"):format(path))
  vim.opt.runtimepath:prepend(path)
  for _, file in ipairs(vim.fn.glob(path .. "/plugin/**/*.lua", false, true)) do
    vim.cmd.source(vim.fn.fnameescape(file))
  end
  return path
end

H.run(function()
  local R = H.result
  local mode = H.params.mode
  R.command_before = vim.api.nvim_get_commands({}).O1coder ~= nil
  if mode == "lazy" then
    local spec = assert(loadstring("return " .. H.params.spec))()
    R.spec_name, R.spec_ft = spec.name, spec.ft
    R.folder = load_folder(spec.dir)
    require(spec.main or spec.name).setup(spec.opts) -- lazy.nvim's `opts`: setup(opts) of the main module
  elseif mode == "packer" then
    local captured
    _G.use = function(spec)
      captured = spec
    end
    assert(loadstring(H.params.spec))()
    R.spec_name, R.spec_ft = captured.as, captured.ft
    R.folder = load_folder(captured[1])
    captured.config()
  end

  R.command_defined = vim.api.nvim_get_commands({}).O1coder ~= nil
  R.runtime_init = vim.api.nvim_get_runtime_file("lua/o1coder/init.lua", false)[1]
  R.runtime_lsp = vim.api.nvim_get_runtime_file("lsp/o1coder.lua", false)[1]
  local config = require("o1coder.config")
  R.configured = config.configured == true
  R.options_cmd = config.options.cmd
  R.options_settings = config.options.settings
  R.start_autocmds = #vim.api.nvim_get_autocmds({ group = "o1coder.start" })
  R.lsp_config_cmd = vim.lsp.config.o1coder.cmd
end)
