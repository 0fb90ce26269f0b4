--- `:checkhealth o1coder`: the server executable, its version, and the file serving each model role.
--- What the roles resolve to is the server's answer (`o1coder models list --json --settings`).
local config = require("o1coder.config")

local M = {}

local ROLES = { "policy", "prm", "tcg" }
local VERSION_TIMEOUT_MS = 5000 -- `o1coder --version` imports the CLI: ~0.5 s of CPU, more on a busy machine
local MODELS_TIMEOUT_MS = 15000

--- The command and settings to check: the running client's, else setup()'s, else
--- `vim.lsp.config.o1coder` (for vim.lsp.enable users), else the defaults.
---@return string[]|nil cmd, table settings, string source
local function target()
  local client = vim.lsp.get_clients({ name = config.name })[1]
  if client then
    return client.config.cmd, (client.settings or {})[config.name] or {}, ("running client %d"):format(client.id)
  end
  if config.configured then
    return config.options.cmd, config.options.settings, "require('o1coder').setup()"
  end
  local ok, resolved = pcall(function()
    return vim.lsp.config[config.name]
  end)
  if ok and type(resolved) == "table" and resolved.cmd then
    return resolved.cmd, (resolved.settings or {})[config.name] or {}, "vim.lsp.config"
  end
  return config.options.cmd, config.options.settings, "defaults"
end

---@param argv string[]
---@param timeout integer ms
---@return vim.SystemCompleted|nil result, string|nil error
local function run(argv, timeout)
  local ok, obj = pcall(vim.system, argv, { text = true })
  if not ok then
    return nil, tostring(obj)
  end
  local result = obj:wait(timeout)
  if result.code == 124 and result.signal ~= 0 then
    return nil, ("timed out after %d ms"):format(timeout)
  end
  return result, nil
end

local function show(argv)
  return table.concat(argv, " ")
end

local function failure(result)
  local text = vim.trim((result.stderr or "") .. "\n" .. (result.stdout or ""))
  return ("exit code %d%s"):format(result.code, text ~= "" and (": " .. text) or "")
end

---@param cli string[]
---@param settings table
local function check_models(cli, settings)
  local file = vim.fn.tempname() .. ".json"
  vim.fn.writefile({ vim.json.encode({ [config.name] = config.as_object(vim.deepcopy(settings)) }) }, file)
  local argv = vim.list_extend(vim.deepcopy(cli), { "models", "list", "--json", "--settings", file })
  local result, err = run(argv, MODELS_TIMEOUT_MS)
  vim.fn.delete(file)
  if not result then
    vim.health.error(("`%s`: %s"):format(show(argv), err))
    return
  end
  if result.code ~= 0 then
    vim.health.error(("`%s` failed, %s"):format(show(argv), failure(result)))
    return
  end
  local ok, rows = pcall(vim.json.decode, result.stdout)
  if not ok or type(rows) ~= "table" then
    vim.health.error(("`%s` did not print a JSON list: %s"):format(show(argv), result.stdout))
    return
  end
  for _, role in ipairs(ROLES) do
    local row
    for _, candidate in ipairs(rows) do
      if type(candidate) == "table" and vim.tbl_contains(candidate.roles_in_use or {}, role) then
        row = candidate
        break
      end
    end
    if not row then
      vim.health.error(("%s: the server reports no model for this role"):format(role))
    else
      local path = (type(row.files) == "table" and row.files[role]) or row.path or "?"
      local line = ("%s: %s -> %s (%s)"):format(role, row.name, path, row.status)
      local advice = {}
      if type(row.detail) == "string" and row.detail ~= "" then
        advice[#advice + 1] = row.detail
      end
      -- a catalog or added model's fix is a command; a path's is a hint (as `o1coder models list` prints them)
      if type(row.fix) == "string" and row.fix ~= "" and row.kind ~= "path" then
        advice[#advice + 1] = "run `" .. row.fix .. "`"
      end
      if row.status == "verified" or row.status == "present" then
        vim.health.ok(line)
      elseif row.status == "unverified" then
        vim.health.warn(line, advice)
      else
        vim.health.error(line, advice)
      end
    end
  end
end

function M.check()
  vim.health.start("o1coder: Neovim")
  local v = vim.version()
  if vim.fn.has("nvim-0.11") == 1 then
    vim.health.ok(("Neovim %d.%d.%d"):format(v.major, v.minor, v.patch))
  else
    vim.health.error(("Neovim %d.%d.%d: o1-coder needs 0.11 or newer"):format(v.major, v.minor, v.patch))
  end

  vim.health.start("o1coder: server")
  local cmd, settings, source = target()
  if type(cmd) ~= "table" or type(cmd[1]) ~= "string" then
    vim.health.warn(("cmd from %s is not a command line; cannot probe it"):format(source))
    return
  end
  vim.health.info(("cmd (from %s): %s"):format(source, show(cmd)))
  local executable = vim.fn.exepath(cmd[1])
  if executable == "" then
    vim.health.error(("`%s` is not executable or not on PATH"):format(cmd[1]), {
      "install o1-coder from a clone of its repository (`pipx install ./o1-coder`, or `pip install ./o1-coder` in a venv)",
      'and pass its server if it is not on PATH: setup({ cmd = { "/path/to/venv/bin/o1coder", "serve" } })',
    })
    return
  end
  vim.health.ok("executable: " .. executable)

  local cli = config.cli(config.options, cmd)
  local version_argv = vim.list_extend(vim.deepcopy(cli), { "--version" })
  local result, err = run(version_argv, VERSION_TIMEOUT_MS)
  if not result then
    vim.health.error(("`%s`: %s"):format(show(version_argv), err))
  elseif result.code ~= 0 then
    vim.health.error(("`%s` failed, %s"):format(show(version_argv), failure(result)))
  else
    vim.health.ok("version: " .. vim.trim(result.stdout ~= "" and result.stdout or result.stderr))
  end
  for _, client in ipairs(vim.lsp.get_clients({ name = config.name })) do
    local info = client.server_info or {}
    vim.health.info(
      ("running: client %d, %s %s, root %s"):format(client.id, info.name or "?", info.version or "?", client.root_dir or "-")
    )
  end

  vim.health.start("o1coder: models")
  check_models(cli, settings)
end

return M
