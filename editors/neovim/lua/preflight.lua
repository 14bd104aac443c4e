-- Fix-all for Preflight buffers, and fix-all on save (Neovim 0.11+).
--
--     require('preflight').fix_all()            -- apply Preflight's fix-all to the current buffer
--     require('preflight').enable_fix_on_save() -- do it before every :write (plugin/ calls this)
--
-- Neovim 0.11 has no "code actions on save" setting. The asynchronous vim.lsp.buf.code_action()
-- would race the write, so this asks the server synchronously from BufWritePre and applies the
-- edit before the buffer is written.

local M = {}

local FIX_ALL = 'source.fixAll'

-- Does the action's kind answer a request for `source.fixAll` (`source.fixAll.preflight` does)?
local function is_fix_all(kind)
  return kind == FIX_ALL or vim.startswith(kind or '', FIX_ALL .. '.')
end

--- Applies the fix-all action of every Preflight client attached to the buffer, synchronously.
---@param bufnr? integer buffer (default: current)
---@param opts? { timeout_ms?: integer } how long to wait for the server (default 2000)
---@return integer applied number of actions applied
function M.fix_all(bufnr, opts)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local timeout_ms = (opts or {}).timeout_ms or 2000
  local applied = 0
  for _, client in ipairs(vim.lsp.get_clients({ bufnr = bufnr, name = 'preflight' })) do
    local params = {
      textDocument = vim.lsp.util.make_text_document_params(bufnr),
      -- The whole buffer; the server fixes the whole document for source.fixAll anyway.
      range = {
        start = { line = 0, character = 0 },
        ['end'] = { line = vim.api.nvim_buf_line_count(bufnr), character = 0 },
      },
      context = { only = { FIX_ALL }, diagnostics = {}, triggerKind = 2 }, -- 2 = Automatic
    }
    -- request_sync first sends any pending didChange, so the server sees the buffer as it is.
    local response, err =
      client:request_sync('textDocument/codeAction', params, timeout_ms, bufnr)
    if not response then
      local why = err or 'no response'
      vim.notify('preflight: fix-all skipped: ' .. why, vim.log.levels.WARN)
    elseif response.err then
      local why = tostring(response.err.message)
      vim.notify('preflight: fix-all failed: ' .. why, vim.log.levels.WARN)
    else
      for _, action in ipairs(response.result or {}) do
        if is_fix_all(action.kind) then
          if action.edit then
            -- Positions are in the encoding negotiated with this client (utf-8 or utf-16).
            vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
          end
          if action.command then
            client:exec_cmd(action.command, { bufnr = bufnr })
          end
          applied = applied + 1
        end
      end
    end
  end
  return applied
end

--- Installs (once) a BufWritePre autocmd that runs fix_all() on buffers where the Preflight
--- client is attached; other buffers are left alone. Undo with
--- vim.api.nvim_del_augroup_by_name('preflight.fix_on_save').
---@param opts? { timeout_ms?: integer }
function M.enable_fix_on_save(opts)
  vim.api.nvim_create_autocmd('BufWritePre', {
    group = vim.api.nvim_create_augroup('preflight.fix_on_save', { clear = true }),
    desc = 'Preflight: fix all auto-fixable problems before writing',
    callback = function(args)
      if #vim.lsp.get_clients({ bufnr = args.buf, name = 'preflight' }) > 0 then
        M.fix_all(args.buf, opts)
      end
    end,
  })
end

return M
