-- hydra.lua: translate lines through the hydra daemon's Unix socket (Neovim 0.7+).
--
--   require('hydra').setup({ from = 'en', to = 'tt' })
--   :HydraTranslate            translate the whole buffer
--   :'<,'>HydraTranslate       translate the selected lines
--   :HydraTranslate en ru      choose the direction

local M = {}
local uv = vim.uv or vim.loop

M.config = { from = 'en', to = 'tt', socket = nil, model = nil, timeout_ms = 300000 }

local function socket_path()
  if M.config.socket then return M.config.socket end
  local env = os.getenv('HYDRA_SOCKET')
  if env and env ~= '' then return env end
  local xdg = os.getenv('XDG_RUNTIME_DIR')
  if xdg and xdg ~= '' then return xdg .. '/hydra/hydra.sock' end
  return '/tmp/hydra-' .. vim.trim(vim.fn.system({ 'id', '-u' })) .. '/hydra.sock'
end

--- Translates `text`; calls on_piece(piece) as the translation streams in,
--- then on_done(err, text). Returns at once.
function M.translate_async(text, from, to, on_piece, on_done)
  local pipe = uv.new_pipe(false)
  local buffer, done = '', false
  local function finish(err, result)
    if done then return end
    done = true
    pipe:close()
    vim.schedule(function() on_done(err, result) end)
  end
  pipe:connect(socket_path(), function(cerr)
    if cerr then return finish('no daemon is running (start one with: hydra daemon start)') end
    local params = { text = text, from = from, to = to, model = M.config.model }
    pipe:write(vim.json.encode({ jsonrpc = '2.0', id = 1, method = 'translate', params = params }) .. '\n')
    pipe:read_start(function(rerr, chunk)
      if rerr or not chunk then return finish(rerr or 'the daemon closed the connection') end
      buffer = buffer .. chunk
      while true do
        local nl = buffer:find('\n', 1, true)
        if not nl then break end
        local line = buffer:sub(1, nl - 1)
        buffer = buffer:sub(nl + 1)
        local msg = vim.json.decode(line)
        if msg.method == 'translate.partial' and on_piece then
          local piece = msg.params.text
          vim.schedule(function() on_piece(piece) end)
        elseif msg.id == 1 then
          if msg.error then return finish(msg.error.message) end
          return finish(nil, msg.result.text)
        end
      end
    end)
  end)
end

--- Translates `text` and waits for the result (the editor keeps redrawing).
function M.translate(text, from, to)
  local err, result, finished
  M.translate_async(text, from, to, function(piece)
    vim.api.nvim_echo({ { 'hydra: ' .. piece:gsub('\n', ' '), 'Comment' } }, false, {})
  end, function(e, r)
    err, result, finished = e, r, true
  end)
  vim.wait(M.config.timeout_ms, function() return finished end, 20)
  if not finished then error('hydra: the daemon did not answer in time') end
  if err then error('hydra: ' .. err) end
  return result
end

--- Replaces lines line1..line2 (1-based, inclusive) with their translation.
function M.translate_lines(line1, line2, from, to)
  local lines = vim.api.nvim_buf_get_lines(0, line1 - 1, line2, false)
  local out = M.translate(table.concat(lines, '\n') .. '\n', from or M.config.from, to or M.config.to)
  out = out:gsub('\n$', '')
  vim.api.nvim_buf_set_lines(0, line1 - 1, line2, false, vim.split(out, '\n', { plain = true }))
end

function M.setup(opts)
  M.config = vim.tbl_extend('force', M.config, opts or {})
  vim.api.nvim_create_user_command('HydraTranslate', function(c)
    M.translate_lines(c.line1, c.line2, c.fargs[1], c.fargs[2])
  end, { range = '%', nargs = '*' })
end

return M
