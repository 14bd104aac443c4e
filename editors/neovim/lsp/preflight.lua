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

local root_markers = { 'preflight.toml', 'pyproject.toml', 'setup.py', '.git' }

---@type vim.lsp.Config
return {
  cmd = { 'preflight', 'server' },
  -- Neovim 0.11 detects `.env` and `*.env` as `sh`, and `.env.*` not at all (plugin/preflight.lua
  -- maps those to `sh` too). `dotenv` covers plugins that define such a filetype.
  filetypes = { 'python', 'sh', 'dotenv' },
  root_markers = root_markers,
  -- Decides per buffer whether to attach: every Python and dotenv buffer, but of the `sh` buffers
  -- only env files, not every shell script. Not calling on_dir() means "do not attach".
  root_dir = function(bufnr, on_dir)
    local name = vim.fs.basename(vim.api.nvim_buf_get_name(bufnr))
    if vim.bo[bufnr].filetype == 'sh' and not is_env_file(name) then
      return
    end
    -- A root_dir function makes Neovim ignore root_markers, so apply them here. No marker found:
    -- nil, and the server runs without a workspace folder (configuration is still looked up
    -- from the file's own directory upwards).
    on_dir(vim.fs.root(bufnr, root_markers))
  end,
}
