-- Neovim's own LSP client (0.7+, no plugin) driving `dbee lsp` headless: open a file, wait for its diagnostics, go to a
-- definition in another project, show a hover, and write what was seen (JSON) to $DBEE_NVIM_OUT. Run by
-- test/lsp/neovim.test.ts: nvim --headless --clean -u NONE -c 'luafile test/lsp/neovim.lua'.
local env = vim.env
local out = {}
local function finish(code)
  local f = io.open(env.DBEE_NVIM_OUT, 'w')
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd(code == 0 and 'qa!' or 'cquit! ' .. code)
end

vim.o.columns = 110
vim.o.lines = 24
local ok, err = pcall(function()
  local client = vim.lsp.start_client({
    name = 'dbee',
    cmd = { env.DBEE_NODE, env.DBEE_BIN, 'lsp' },
    root_dir = env.DBEE_NVIM_ROOT,
  })
  vim.cmd('cd ' .. vim.fn.fnameescape(env.DBEE_NVIM_ROOT))
  vim.cmd('edit ' .. vim.fn.fnameescape(env.DBEE_NVIM_FILE))
  local buf = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(buf, client)

  -- The diagnostics the server publishes for the file (the wait is a guard against a hang, not a verdict).
  vim.wait(300000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
  out.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(out.diagnostics, { lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
      severity = d.severity, message = d.message, code = d.code })
  end

  -- A hover, shown in Neovim's floating window, and the screen with it (for docs/editor.md's picture).
  vim.api.nvim_win_set_cursor(0, { tonumber(env.DBEE_NVIM_HOVER_LINE), tonumber(env.DBEE_NVIM_HOVER_COL) })
  local hover = vim.lsp.buf_request_sync(buf, 'textDocument/hover', vim.lsp.util.make_position_params(), 300000)
  local float
  for _, r in pairs(hover or {}) do
    if r.result then
      out.hover = r.result.contents.value
      local lines = vim.lsp.util.convert_input_to_markdown_lines(r.result.contents)
      lines = vim.lsp.util.trim_empty_lines(lines)
      local fbuf, fwin = vim.lsp.util.open_floating_preview(lines, 'markdown', { border = 'single', max_width = 80 })
      float = fwin
    end
  end
  vim.cmd('redraw!')
  out.screen = {}
  local cells = {}
  for row = 1, vim.o.lines do
    cells[row] = {}
    for col = 1, vim.o.columns do cells[row][col] = vim.fn.screenstring(row, col) end
  end
  -- Without a UI attached, Neovim's screen grid holds no floating window: its text and single border are laid over
  -- the grid at the window's position, as the compositor of a terminal UI would draw them.
  if float then
    local pos = vim.api.nvim_win_get_position(float)
    local width, height = vim.api.nvim_win_get_width(float), vim.api.nvim_win_get_height(float)
    local text = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(float), 0, height, false)
    local top, left = pos[1], pos[2]
    local function put(r, c, ch) if cells[r] and c >= 1 and c <= vim.o.columns then cells[r][c] = ch end end
    put(top + 1, left + 1, '┌'); put(top + 1, left + width + 2, '┐')
    put(top + height + 2, left + 1, '└'); put(top + height + 2, left + width + 2, '┘')
    for c = 1, width do put(top + 1, left + 1 + c, '─'); put(top + height + 2, left + 1 + c, '─') end
    for r = 1, height do
      put(top + 1 + r, left + 1, '│'); put(top + 1 + r, left + width + 2, '│')
      local line = text[r] or ''
      local chars = vim.fn.split(line, '\\zs')
      for c = 1, width do put(top + 1 + r, left + 1 + c, chars[c] or ' ') end
    end
    out.float = { row = top, col = left, width = width + 2, height = height + 2 }
  end
  for row = 1, vim.o.lines do out.screen[row] = table.concat(cells[row]) end

  -- Go to definition, then where the cursor landed.
  vim.api.nvim_win_set_cursor(0, { tonumber(env.DBEE_NVIM_LINE), tonumber(env.DBEE_NVIM_COL) })
  local results = vim.lsp.buf_request_sync(buf, 'textDocument/definition', vim.lsp.util.make_position_params(), 300000)
  for _, r in pairs(results or {}) do
    if r.result and r.result[1] then vim.lsp.util.jump_to_location(r.result[1], 'utf-16') end
  end
  out.file = vim.api.nvim_buf_get_name(0)
  out.cursor = vim.api.nvim_win_get_cursor(0)
  vim.lsp.stop_client(client)
  vim.wait(30000, function() return vim.lsp.get_client_by_id(client) == nil end, 50)
end)
if not ok then
  out.error = tostring(err)
  finish(3)
else
  finish(0)
end
