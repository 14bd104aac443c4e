-- Loaded automatically when editors/neovim is on 'runtimepath'. It does not start the server:
-- that is vim.lsp.enable('preflight') in your config (lsp/preflight.lua holds the settings).
--
-- Options (set them before plugins load, i.e. in init.lua):
--   vim.g.preflight_fix_on_save = false   -- do not apply Preflight's fix-all on :write
if vim.g.loaded_preflight then
  return
end
vim.g.loaded_preflight = true

-- Neovim 0.11 gives `.env.production`, `.env.local`, ... no filetype at all, so no language
-- server can attach to them. Treat them like `.env` (which it detects as `sh`). The low priority
-- lets any other pattern, yours included, win.
vim.filetype.add({
  pattern = { ['%.env%..+'] = { 'sh', { priority = -math.huge } } },
  filename = { Procfile = 'procfile', Containerfile = 'dockerfile' },
})

if vim.g.preflight_fix_on_save ~= false then
  require('preflight').enable_fix_on_save()
end

vim.api.nvim_create_user_command('PreflightFixAll', function()
  require('preflight').fix_all(0)
end, { desc = 'Preflight: fix all auto-fixable problems in this buffer' })
