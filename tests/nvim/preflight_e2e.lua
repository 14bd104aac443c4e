-- End-to-end test of the shipped Neovim integration (editors/neovim) against `preflight server`,
-- driven through Neovim's own LSP client. Run by tests/neovim.rs as
--
--   nvim --headless --clean --cmd 'set rtp^=<repo>/editors/neovim' -l tests/nvim/preflight_e2e.lua
--
-- with `preflight` on PATH (the shipped config runs {'preflight', 'server'}) and:
--   PREFLIGHT_PROJECT   project dir holding pyproject.toml, settings.py, .env.production,
--                       entrypoint.sh, compose.yaml, Dockerfile and notes.yml
--   PREFLIGHT_EDITORS   the editors/neovim dir that must provide lsp/preflight.lua
--   PREFLIGHT_BIN       the binary `preflight` on PATH must resolve to (optional)
--   PREFLIGHT_STEP_MS   per-step timeout in ms (default 20000)
-- Prints one line per step; exits 0 when all pass, 2 on a failed step, 124 from the watchdog.

local uv = vim.uv or vim.loop
local PROJECT = assert(os.getenv('PREFLIGHT_PROJECT'), 'PREFLIGHT_PROJECT not set')
local EDITORS = assert(os.getenv('PREFLIGHT_EDITORS'), 'PREFLIGHT_EDITORS not set')
local T = tonumber(os.getenv('PREFLIGHT_STEP_MS') or '20000')
local SETTINGS = PROJECT .. '/settings.py'
local ENV_FILE = PROJECT .. '/.env.production'
local SHELL_SCRIPT = PROJECT .. '/entrypoint.sh'
local COMPOSE = PROJECT .. '/compose.yaml'
local DOCKERFILE = PROJECT .. '/Dockerfile'
local OTHER_YAML = PROJECT .. '/notes.yml'

local function out(fmt, ...)
  io.stdout:write(string.format(fmt, ...) .. '\n')
  io.stdout:flush()
end

local exiting = false
local function finish(code, msg)
  if exiting then
    return
  end
  exiting = true
  if msg then
    out('%s: %s', code == 0 and 'OK' or 'FAIL', msg)
  end
  for _, c in ipairs(vim.lsp.get_clients()) do
    c:stop()
  end
  vim.wait(3000, function()
    return #vim.lsp.get_clients() == 0
  end, 20)
  for _, c in ipairs(vim.lsp.get_clients()) do
    c:stop(true)
  end
  -- Never leave a server behind, even one that stopped answering.
  for _, pid in ipairs(vim.api.nvim_get_proc_children(vim.fn.getpid())) do
    uv.kill(pid, 'sigkill')
  end
  os.exit(code)
end

-- Watchdog: runs even while a step is blocked in vim.wait(); the Rust side adds `timeout`.
local watchdog = assert(uv.new_timer())
watchdog:start(
  T * 8,
  0,
  vim.schedule_wrap(function()
    out('FAIL: watchdog fired after %d ms', T * 8)
    finish(124)
  end)
)

local function step(name, fn)
  out('STEP %s', name)
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    out('FAIL [%s]: %s', name, tostring(err))
    local log = vim.fn.stdpath('log') .. '/lsp.log'
    if vim.fn.filereadable(log) == 1 then
      out('--- %s (tail) ---', log)
      for _, line in ipairs(vim.list_slice(vim.fn.readfile(log), -30)) do
        out('%s', line)
      end
    end
    finish(2)
  end
end

-- Waits for `cond` (which returns a value or nil); fails the step with `what` on timeout.
local function wait_for(what, cond)
  local value
  local ok = vim.wait(T, function()
    value = cond()
    return value ~= nil and value ~= false
  end, 20)
  assert(ok, 'timed out waiting for ' .. what)
  return value
end

local function show_diagnostics(buf)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    out(
      '  %d:%d %s %s [%s] %s',
      d.lnum + 1,
      d.col + 1,
      vim.diagnostic.severity[d.severity],
      tostring(d.code),
      tostring(d.source),
      d.message
    )
  end
end

local function find_line(buf, prefix)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if vim.startswith(line, prefix) then
      return i - 1
    end
  end
  error(('no line starting with %q'):format(prefix))
end

local function diagnostic(buf, code, lnum)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.code == code and d.lnum == lnum and d.source == 'preflight' then
      return d
    end
  end
end

local function preflight_client(buf)
  local c = vim.lsp.get_clients({ bufnr = buf, name = 'preflight' })[1]
  return c and c.initialized and c or nil
end

vim.lsp.log.set_level(vim.log.levels.WARN)

-- ------------------------------------------------------------------ shipped files are in use
step('shipped integration on runtimepath', function()
  local config_file = vim.api.nvim_get_runtime_file('lsp/preflight.lua', false)[1]
  assert(config_file, 'lsp/preflight.lua not on runtimepath')
  assert(
    vim.fs.normalize(config_file) == vim.fs.normalize(EDITORS .. '/lsp/preflight.lua'),
    'lsp/preflight.lua comes from ' .. config_file
  )
  assert(vim.g.loaded_preflight, 'plugin/preflight.lua was not loaded at startup')
  local autocmds =
    vim.api.nvim_get_autocmds({ group = 'preflight.fix_on_save', event = 'BufWritePre' })
  assert(#autocmds == 1, 'expected one BufWritePre autocmd from the plugin, got ' .. #autocmds)
  local exe = vim.fn.exepath('preflight')
  assert(exe ~= '', '`preflight` is not on PATH')
  local want = os.getenv('PREFLIGHT_BIN')
  assert(not want or uv.fs_realpath(exe) == uv.fs_realpath(want), 'PATH finds ' .. exe)
  out('  config %s, fix-on-save autocmd installed', config_file)
  out('  server %s, nvim %s', exe, tostring(vim.version()))
  -- What a user puts in init.lua:
  vim.lsp.enable('preflight')
end)

-- ------------------------------------------------------------------ Python buffer
vim.cmd.edit(vim.fn.fnameescape(SETTINGS))
local buf = vim.api.nvim_get_current_buf()
local original = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
local client

step('client attaches to settings.py', function()
  assert(vim.bo[buf].filetype == 'python', 'filetype is ' .. vim.bo[buf].filetype)
  client = wait_for('the preflight client to attach', function()
    return preflight_client(buf)
  end)
  local info = client.server_info or {}
  out(
    '  ATTACHED name=%s server=%s %s encoding=%s root=%s',
    client.name,
    tostring(info.name),
    tostring(info.version),
    client.offset_encoding,
    tostring(client.root_dir)
  )
  assert(client.name == 'preflight', 'client name ' .. client.name)
  assert(info.name == 'preflight', 'serverInfo.name ' .. tostring(info.name))
  assert(
    uv.fs_realpath(client.root_dir or '') == uv.fs_realpath(PROJECT),
    'root_dir should be the folder with pyproject.toml, got ' .. tostring(client.root_dir)
  )
end)

local jwt_lnum = find_line(buf, 'JWT_SECRET =')

step('SEC001 error on the JWT_SECRET line', function()
  local d = wait_for('an SEC001 diagnostic on line ' .. (jwt_lnum + 1), function()
    return diagnostic(buf, 'SEC001', jwt_lnum)
  end)
  out('  DIAGNOSTICS:')
  show_diagnostics(buf)
  assert(d.severity == vim.diagnostic.severity.ERROR, 'SEC001 severity ' .. tostring(d.severity))
  -- LOG_LEVEL has an info-level finding; fix-all on save must leave it alone (checked below).
  local info = diagnostic(buf, 'CFG015', find_line(buf, 'LOG_LEVEL ='))
  assert(info and info.severity == vim.diagnostic.severity.INFO, 'no info CFG015 on LOG_LEVEL')
end)

step('quick fix "Fail fast" through vim.lsp.buf.code_action', function()
  local d = assert(diagnostic(buf, 'SEC001', jwt_lnum))
  vim.api.nvim_win_set_cursor(0, { d.lnum + 1, d.col })
  local tick = vim.b[buf].changedtick
  local offered, picked = {}, {}
  -- What the default `gra` mapping calls; with apply=true and one action left after `filter`
  -- Neovim applies it without a prompt.
  vim.lsp.buf.code_action({
    apply = true,
    context = { only = { 'quickfix' } },
    filter = function(action)
      table.insert(offered, action.title)
      if vim.startswith(action.title, 'Preflight (SEC001): Fail fast') then
        table.insert(picked, action.title)
        return true
      end
      return false
    end,
  })
  wait_for('the quick fix to change the buffer', function()
    return vim.b[buf].changedtick ~= tick
  end)
  out('  OFFERED: %s', table.concat(offered, ' | '))
  assert(#picked == 1, 'expected exactly one "Fail fast" action, got ' .. #picked)
  out('  APPLIED: %s', picked[1])
  local line = vim.api.nvim_buf_get_lines(buf, jwt_lnum, jwt_lnum + 1, false)[1]
  out('  LINE NOW: %s', line)
  assert(line == 'JWT_SECRET = os.environ["JWT_SECRET"]', 'line after quick fix: ' .. line)
end)

step('SEC001 disappears after the fix', function()
  local debug_lnum = find_line(buf, 'DEBUG =')
  -- The fixed line has no SEC001 any more while the other findings are still published, so the
  -- diagnostics were recomputed for the edited text (not just cleared).
  wait_for('diagnostics without SEC001 for the edited buffer', function()
    return diagnostic(buf, 'SEC001', jwt_lnum) == nil
      and diagnostic(buf, 'CFG001', debug_lnum) ~= nil
  end)
  out('  DIAGNOSTICS:')
  show_diagnostics(buf)
end)

step('fix-all on :write (shipped BufWritePre autocmd)', function()
  -- Back to the original text: the quick fix changed only the buffer, the file is untouched.
  vim.cmd('edit!')
  assert(
    vim.deep_equal(vim.api.nvim_buf_get_lines(buf, 0, -1, false), original),
    'buffer was not reloaded'
  )
  wait_for('SEC001 to be reported again after the reload', function()
    return diagnostic(buf, 'SEC001', jwt_lnum)
  end)
  assert(preflight_client(buf), 'client detached after :edit!')
  vim.cmd('write')
  local disk = vim.fn.readfile(SETTINGS)
  out('  FILE ON DISK AFTER :write:')
  for _, line in ipairs(disk) do
    out('    %s', line)
  end
  local text = table.concat(disk, '\n')
  local function has(line)
    return vim.tbl_contains(disk, line)
  end
  assert(has('JWT_SECRET = os.environ["JWT_SECRET"]'), 'JWT_SECRET not rewritten on save')
  assert(has('DEBUG = os.getenv("DEBUG", "False") == "True"'), 'DEBUG not rewritten on save')
  assert(
    has('ALLOWED_HOSTS = os.environ["ALLOWED_HOSTS"].split(",")'),
    'ALLOWED_HOSTS not rewritten on save'
  )
  assert(has('LOG_LEVEL = os.getenv("LOG_LEVEL", "INFO")'), 'LOG_LEVEL must stay unchanged')
  assert(#disk == #original, 'line count changed: ' .. #original .. ' -> ' .. #disk)
  assert(not text:find('"dev"', 1, true), 'the "dev" fallback is still in the file')
  assert(not vim.bo[buf].modified, 'buffer still modified after :write')
  assert(
    vim.deep_equal(vim.api.nvim_buf_get_lines(buf, 0, -1, false), disk),
    'buffer and file differ after :write'
  )
end)

-- ------------------------------------------------------------------ settings files
step('compose file, Dockerfile and entrypoint attach, other YAML does not', function()
  -- Opened first: had the config accepted it, its attach would be scheduled before the others'.
  vim.cmd.edit(vim.fn.fnameescape(OTHER_YAML))
  local yaml_buf = vim.api.nvim_get_current_buf()
  out('  notes.yml filetype=%s', vim.bo[yaml_buf].filetype)

  vim.cmd.edit(vim.fn.fnameescape(SHELL_SCRIPT))
  local sh_buf = vim.api.nvim_get_current_buf()
  assert(vim.bo[sh_buf].filetype == 'sh', 'entrypoint.sh filetype is ' .. vim.bo[sh_buf].filetype)
  local migrate = find_line(sh_buf, 'python manage.py migrate')
  wait_for('a DOCK005 diagnostic in entrypoint.sh', function()
    return diagnostic(sh_buf, 'DOCK005', migrate)
  end)
  out('  DIAGNOSTICS (entrypoint.sh):')
  show_diagnostics(sh_buf)

  vim.cmd.edit(vim.fn.fnameescape(COMPOSE))
  local compose_buf = vim.api.nvim_get_current_buf()
  out('  compose.yaml filetype=%s', vim.bo[compose_buf].filetype)
  local password = find_line(compose_buf, '      POSTGRES_PASSWORD:')
  local secret = wait_for('a SEC010 diagnostic in compose.yaml', function()
    return diagnostic(compose_buf, 'SEC010', password)
  end)
  assert(secret.severity == vim.diagnostic.severity.WARN, 'SEC010 severity ' .. secret.severity)
  out('  DIAGNOSTICS (compose.yaml):')
  show_diagnostics(compose_buf)

  vim.cmd.edit(vim.fn.fnameescape(DOCKERFILE))
  local docker_buf = vim.api.nvim_get_current_buf()
  out('  Dockerfile filetype=%s', vim.bo[docker_buf].filetype)
  local from = find_line(docker_buf, 'FROM ')
  wait_for('a DOCK001 diagnostic in the Dockerfile', function()
    return diagnostic(docker_buf, 'DOCK001', from)
  end)
  out('  DIAGNOSTICS (Dockerfile):')
  show_diagnostics(docker_buf)

  for _, buf in ipairs({ sh_buf, compose_buf, docker_buf }) do
    assert(preflight_client(buf).id == client.id, 'every settings file should share the client')
  end
  assert(
    #vim.lsp.get_clients({ bufnr = yaml_buf, name = 'preflight' }) == 0,
    'preflight attached to notes.yml, which is not a compose file'
  )
end)

step(':PreflightFixAll in the compose file', function()
  vim.cmd.edit(vim.fn.fnameescape(COMPOSE))
  local compose_buf = vim.api.nvim_get_current_buf()
  vim.cmd('PreflightFixAll')
  local line = vim.api.nvim_buf_get_lines(compose_buf, 0, -1, false)[find_line(compose_buf, '      POSTGRES_PASSWORD:') + 1]
  out('  COMPOSE LINE NOW: %s', line)
  assert(
    line == '      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}',
    'the fallback should be required now: ' .. line
  )
  wait_for('compose.yaml without SEC010', function()
    for _, d in ipairs(vim.diagnostic.get(compose_buf)) do
      if d.code == 'SEC010' then
        return nil
      end
    end
    return true
  end)
end)

-- ------------------------------------------------------------------ env file
step('.env.production attaches', function()
  vim.cmd.edit(vim.fn.fnameescape(ENV_FILE))
  local env_buf = vim.api.nvim_get_current_buf()
  out('  .env.production filetype=%s', vim.bo[env_buf].filetype)
  assert(vim.bo[env_buf].filetype == 'sh', 'plugin/preflight.lua should make .env.* filetype sh')
  local env_client = wait_for('the preflight client to attach to .env.production', function()
    return preflight_client(env_buf)
  end)
  assert(env_client.id == client.id, 'the env file should reuse the project client')
  local dup = find_line(env_buf, 'DATABASE_URL=postgres://db-old')
  local d = wait_for('an ENV001 diagnostic in .env.production', function()
    return diagnostic(env_buf, 'ENV001', dup)
  end)
  out('  DIAGNOSTICS (.env.production):')
  show_diagnostics(env_buf)
  assert(d.severity == vim.diagnostic.severity.WARN, 'ENV001 severity ' .. tostring(d.severity))
end)

step(':PreflightFixAll in the env file', function()
  local env_buf = vim.api.nvim_get_current_buf()
  vim.cmd('PreflightFixAll')
  local lines = vim.api.nvim_buf_get_lines(env_buf, 0, -1, false)
  out('  BUFFER NOW: %s', table.concat(lines, ' | '))
  assert(
    vim.deep_equal(lines, { 'DEBUG=false', 'DATABASE_URL=postgres://db/app' }),
    'the duplicate DATABASE_URL line should be gone'
  )
end)

watchdog:stop()
finish(0, 'all Neovim steps passed')
