-- Preflight language server configuration for Neovim 0.11+ (`:help lsp-config`).
--
-- Put this folder on 'runtimepath' (or copy this file to ~/.config/nvim/lsp/preflight.lua), then:
--
--     vim.lsp.enable('preflight')
--
-- Override any field with vim.lsp.config('preflight', { ... }), e.g. an absolute `cmd` or
-- `init_options = { ignore = { 'CFG015' } }` (same keys as preflight.toml).

-- Same rule as the server: `.env`, `.env.*` and `*.env`.
local function is_env_file(name)
  return name == '.env'
    or vim.startswith(name, '.env.')
    or (#name > 4 and vim.endswith(name, '.env'))
end

-- Same rule as the server: only YAML named like a compose file is a compose file.
local function is_compose_file(name)
  local lower = name:lower()
  return (vim.startswith(lower, 'compose') or vim.startswith(lower, 'docker-compose'))
    and (vim.endswith(lower, '.yml') or vim.endswith(lower, '.yaml'))
end

-- Whether the server reads a buffer of this name and filetype (it decides by the path first).
local function is_preflight_buffer(name, filetype)
  if is_env_file(name) then
    return true
  end
  if vim.startswith(filetype, 'yaml') then
    return is_compose_file(name)
  end
  if filetype == 'toml' then
    return name == 'pyproject.toml'
  end
  return true
end

local root_markers = { 'preflight.toml', 'pyproject.toml', 'setup.py', '.git' }

---@type vim.lsp.Config
return {
  cmd = { 'preflight', 'server' },
  -- Neovim 0.11 detects `.env` and `*.env` as `sh`, and `.env.*` not at all (plugin/preflight.lua
  -- maps those to `sh` too; `dotenv` covers plugins that define such a filetype). Compose files
  -- are `yaml.docker-compose` (or plain `yaml`), requirements files `requirements`, Procfiles
  -- `procfile` (plugin/preflight.lua names them).
  filetypes = {
    'python',
    'sh',
    'bash',
    'dotenv',
    'dockerfile',
    'yaml',
    'yaml.docker-compose',
    'requirements',
    'toml',
    'procfile',
  },
  root_markers = root_markers,
  -- Decides per buffer whether to attach: YAML only when named like a compose file, TOML only
  -- for pyproject.toml. Not calling on_dir() means "do not attach".
  root_dir = function(bufnr, on_dir)
    local name = vim.fs.basename(vim.api.nvim_buf_get_name(bufnr))
    if not is_preflight_buffer(name, vim.bo[bufnr].filetype) then
      return
    end
    -- A root_dir function makes Neovim ignore root_markers, so apply them here. No marker found:
    -- nil, and the server runs without a workspace folder (configuration is still looked up
    -- from the file's own directory upwards).
    on_dir(vim.fs.root(bufnr, root_markers))
  end,
}
