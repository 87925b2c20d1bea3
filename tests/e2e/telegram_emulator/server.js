'use strict';
/*
 * Local Telegram Bot API emulator for RevendaBot's end-to-end tests.
 *
 *   node server.js --port 0 --host 127.0.0.1 [--verbose]
 *
 * prints `READY <port>` on stdout once listening (port 0 = pick a free one) and exits on SIGTERM.
 *
 * It is built on telegram-test-api 4.2.1: that package keeps user and bot messages in memory and
 * has a "client" API that plays the user.  As it is, it cannot serve python-telegram-bot 22, so
 * this file is a thin compatibility layer.  The package builds its Express app (tg.webServer) in
 * its constructor, catch-all 404 included, and has no hook to add middleware before its routes;
 * so we run our own Express app in front and mount the package's app as the last middleware:
 *
 *   front app (this file)                         package app, mounted last, used as it is
 *   /bot<token>/<method>   every Bot API method   /sendMessage  /sendCommand  /sendCallback
 *                          (handlers below, on    /getUpdates   /getUpdatesHistory
 *                          the package's storage  (client side: the test plays the user)
 *                          and core methods)
 *   /file/bot<token>/<path>  file downloads
 *   /sendDocument  /botMessages  /botCalls       client-side extras
 *
 * What the compat layer fixes (the package's own /bot routes are never reached):
 *   1. getMe has is_bot: true (PTB refuses to start without it); id = the token's numeric prefix.
 *   2. Bot message dates: the package stores and returns milliseconds; the bot sees seconds.
 *   3. callback_query updates get a chat_instance.
 *   4. editMessageText/ReplyMarkup return the edited Message (the package returns null); as in
 *      Telegram, an edit without reply_markup removes the inline keyboard, and an edit that
 *      changes nothing is a 400 "message is not modified".
 *   5. sendDocument (multipart field `document`, or a known file_id), getFile,
 *      GET /file/bot<token>/<file_path>; client POST /sendDocument uploads a file as the user.
 *   6. getUpdates honours `timeout` (long poll) and `offset` (updates stay pending until a later
 *      call confirms them, as in Telegram; the package marks them read as soon as it returns them).
 *   7. answerCallbackQuery, sendChatAction, setMyCommands, deleteMessage(s), setWebhook and
 *      deleteWebhook answer ok:true, result:true.
 *   8. Unknown methods answer 404 {ok:false, error_code, description} (the package: 500, no ok).
 *   9. Webhook mode is pushed by this file, not by the package: the package's push sends no
 *      X-Telegram-Bot-Api-Secret-Token header, and an error answer from the webhook becomes an
 *      unhandled promise rejection that kills the process.  Here each pending update is POSTed
 *      in order with the secret header; a failed delivery is retried twice, then dropped and
 *      reported by getWebhookInfo (last_error_date/last_error_message).  getUpdates answers 409
 *      while a webhook is set, as Telegram does.
 *  10. A webhook's JSON answer may carry a Bot API call ({"method": "answerCallbackQuery", …}):
 *      as Telegram does, it is made on the bot's behalf (its result goes nowhere) and it is
 *      recorded in /botCalls like any other call.
 *
 * Client-side routes (the test plays the user; `token` is the bot token):
 *   POST /sendMessage, /sendCommand, /sendCallback   package routes, JSON body in the package's
 *        message format ({botToken, from, chat, date, text[, entities]} / {botToken, from,
 *        message, data}); the answer's result is now {update_id, message_id | callback_query_id}.
 *   POST /sendDocument   multipart: field `message` = JSON message as above (caption allowed),
 *        file field `document` -> {update_id, message_id, file_id}.
 *   GET  /botMessages?token=&chatId=   what the bot sent to that chat, in order, as it is now:
 *        {messages: [{message, reply_markup, parse_mode, file_path}], deleted_message_ids}.
 *        `message` is the Message the bot sees (post-edit text and inline keyboard);
 *        `reply_markup` is whatever markup was sent (reply keyboards too); documents can be
 *        downloaded from /file/bot<token>/<file_path>.
 *   GET  /botCalls?token=[&method=]   every Bot API call but getUpdates, in order:
 *        [{method, params, files, time}].
 *   POST /getUpdates, /getUpdatesHistory   package routes, unchanged.
 *
 * Not emulated: HTML/Markdown parsing (texts are stored as sent; parse_mode is reported),
 * allowed_updates, inline mode, media other than documents, group permissions.
 */

const crypto = require('crypto');
const http = require('http');
const path = require('path');
const express = require('express');
const multer = require('multer');
const TelegramServer = require('telegram-test-api');

// ---------------------------------------------------------------- command line and logging
function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', verbose: false };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--port') opts.port = Number(argv[(i += 1)]);
    else if (argv[i] === '--host') opts.host = argv[(i += 1)];
    else if (argv[i] === '--verbose') opts.verbose = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error('--port must be an integer between 0 and 65535');
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const verbose = opts.verbose || process.env.TG_EMULATOR_VERBOSE === '1';
const log = (msg) => process.stderr.write(`[tg-emulator] ${msg}\n`);
// A package bug must cost one request, never the whole emulator (and every test after it).
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${err && err.stack}`));

// ---------------------------------------------------------------- the package and our state
// Never start()ed: we listen ourselves, and its clean-up daemon (drops messages older than
// storeTimeout) stays off.
const tg = new TelegramServer({ storeTimeout: 24 * 3600 });
tg.setMaxListeners(0); // one listener per long poll
const USER_EVENTS = ['AddedUserMessage', 'AddedUserCommand', 'AddedUserCallbackQuery'];

const files = new Map(); // file_id -> {token, meta (Telegram Document/File fields), path, bytes}
let fileSeq = 1;
const webhooks = new Map(); // token -> {url, secret_token, ..., last_error_*}
const deleted = new Map(); // `${token}|${chatId}` -> [message_id]
const calls = []; // Bot API calls, for /botCalls
const commands = new Map(); // token -> setMyCommands' list (default scope)

const nowSeconds = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Deep copy of anything sent to the bot, with millisecond dates turned into seconds.
function toBot(value) {
  return JSON.parse(JSON.stringify(value), (key, v) => (
    (key === 'date' || key === 'edit_date') && typeof v === 'number' && v > 1e11
      ? Math.floor(v / 1000) : v));
}

function botUser(token) {
  const id = Number(String(token).split(':')[0]);
  return {
    id: Number.isSafeInteger(id) && id > 0 ? id : 666,
    is_bot: true,
    first_name: 'Test First name', // the package's getMe values
    username: 'TestNameBot',
  };
}

// The chat as the user's own updates describe it; a bare one if the user never wrote there.
function chatFor(token, chatId) {
  for (let i = tg.storage.userMessages.length - 1; i >= 0; i -= 1) {
    const u = tg.storage.userMessages[i];
    const message = u.message || (u.callbackQuery && u.callbackQuery.message);
    const chat = message && message.chat;
    if (u.botToken === token && chat && String(chat.id) === String(chatId)) return chat;
  }
  const id = Number(chatId);
  return { id, type: id < 0 ? 'group' : 'private' };
}

// Telegram's chat_instance is an opaque number-like string, fixed for a chat.
const chatInstance = (chatId) => `-${BigInt(`0x${crypto.createHash('sha1')
  .update(String(chatId)).digest('hex').slice(0, 15)}`)}`;

// A stored bot message (the package's botMessages entry) as a Telegram Message object.
function botView(entry) {
  const m = entry.message;
  const view = {
    message_id: entry.messageId,
    from: botUser(entry.botToken),
    chat: chatFor(entry.botToken, m.chat_id),
    date: Math.floor(entry.time / 1000),
  };
  for (const key of ['edit_date', 'text', 'entities', 'caption', 'caption_entities', 'document']) {
    if (m[key] !== undefined && m[key] !== null) view[key] = m[key];
  }
  if (m.reply_markup && m.reply_markup.inline_keyboard) {
    view.reply_markup = { inline_keyboard: m.reply_markup.inline_keyboard };
  }
  return view;
}

// A stored user update (the package's userMessages entry) as the Update the bot receives.
function updateView(update) {
  const out = TelegramServer.formatUpdate(update);
  if (out.message) {
    delete out.message.botToken;
    if (out.message.date === undefined) out.message.date = update.time;
  }
  if (out.callback_query) {
    const cq = out.callback_query;
    const chat = cq.message && cq.message.chat;
    cq.chat_instance = chatInstance(chat ? chat.id : cq.from && cq.from.id);
  }
  return toBot(out);
}

function findBotMessage(token, chatId, messageId) {
  return tg.storage.botMessages.find((e) => e.botToken === token
    && String(e.message.chat_id) === String(chatId) && e.messageId === Number(messageId));
}

function pendingUpdates(token, offset) {
  return tg.storage.userMessages.filter((u) => u.botToken === token && !u.isRead
    && !(offset > 0 && u.updateId < offset));
}

function waitForUserUpdate(ms, res) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      USER_EVENTS.forEach((event) => tg.off(event, done));
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    USER_EVENTS.forEach((event) => tg.on(event, done));
    res.on('close', done);
  });
}

// ---------------------------------------------------------------- Bot API answers
class ApiError extends Error {
  constructor(code, description) {
    super(description);
    this.code = code;
  }
}
const badRequest = (what) => new ApiError(400, `Bad Request: ${what}`);

const JSON_PARAMS = new Set(['reply_markup', 'entities', 'caption_entities', 'commands', 'scope',
  'allowed_updates', 'message_ids', 'reply_parameters', 'link_preview_options', 'menu_button']);

// Parameters of a Bot API call: query + body (JSON, urlencoded or multipart, where PTB sends
// JSON-encoded values as strings).
function readParams(req) {
  const params = { ...req.query, ...(req.body || {}) };
  for (const key of Object.keys(params)) {
    if (JSON_PARAMS.has(key) && typeof params[key] === 'string') {
      try {
        params[key] = JSON.parse(params[key]);
      } catch (err) {
        throw badRequest(`can't parse ${key} JSON object`);
      }
    }
  }
  return params;
}

const flag = (v) => v === true || v === 'true' || v === '1' || v === 1;

function need(params, ...keys) {
  for (const key of keys) {
    if (params[key] === undefined || params[key] === '') throw badRequest(`${key} is empty`);
  }
}

function storeFile(token, bytes, fileName, mimeType) {
  const n = fileSeq;
  fileSeq += 1;
  const ext = path.extname(fileName || '') || '';
  const meta = {
    file_id: `BQACAgEAAx-emu-${n}-${crypto.randomBytes(6).toString('hex')}`,
    file_unique_id: `AgADemu${n}`,
    file_name: fileName || `file_${n}${ext}`,
    mime_type: mimeType || 'application/octet-stream',
    file_size: bytes.length,
  };
  files.set(meta.file_id, { token, meta, path: `documents/file_${n}${ext}`, bytes });
  return meta;
}

// The package's addBotMessage stores the message and hands back a half-baked copy; we answer
// with our view of what it stored.
function addBotMessage(token, message) {
  tg.addBotMessage(message, token);
  return botView(tg.storage.botMessages[tg.storage.botMessages.length - 1]);
}

function markupOf(params) {
  const markup = params.reply_markup;
  return markup && markup.inline_keyboard ? { inline_keyboard: markup.inline_keyboard } : undefined;
}

function editMessage(token, params, kind) {
  if (params.inline_message_id) throw badRequest('inline messages are not emulated');
  need(params, 'chat_id', 'message_id');
  const entry = findBotMessage(token, params.chat_id, params.message_id);
  if (!entry) throw badRequest('message to edit not found');
  const markup = markupOf(params);
  const oldMarkup = entry.message.reply_markup && entry.message.reply_markup.inline_keyboard
    ? { inline_keyboard: entry.message.reply_markup.inline_keyboard } : undefined;
  const sameMarkup = JSON.stringify(markup) === JSON.stringify(oldMarkup);
  if (kind === 'text') {
    need(params, 'text');
    if (entry.message.text === undefined) throw badRequest('there is no text in the message to edit');
    if (String(params.text) === entry.message.text && sameMarkup) {
      throw badRequest('message is not modified: specified new message content and reply markup'
        + ' are exactly the same as a current content and reply markup of the message');
    }
    tg.editMessageText({ ...params }); // the package merges the new fields into its copy
  } else {
    if (sameMarkup) {
      throw badRequest('message is not modified: specified new message content and reply markup'
        + ' are exactly the same as a current content and reply markup of the message');
    }
    tg.editMessageReplyMarkup({ ...params });
  }
  // As in Telegram, an edit without reply_markup removes the inline keyboard (the package
  // keeps the old one).
  if (!markup) delete entry.message.reply_markup;
  entry.message.edit_date = nowSeconds();
  return botView(entry);
}

function deleteOne(token, chatId, messageId) {
  if (!tg.deleteMessage(Number(chatId), Number(messageId))) return false;
  const key = `${token}|${chatId}`;
  if (!deleted.has(key)) deleted.set(key, []);
  deleted.get(key).push(Number(messageId));
  return true;
}

function webhookInfo(token) {
  const hook = webhooks.get(token);
  const info = {
    url: hook ? hook.url : '',
    has_custom_certificate: false,
    pending_update_count: pendingUpdates(token).length,
  };
  if (hook) {
    info.max_connections = hook.max_connections;
    if (hook.allowed_updates) info.allowed_updates = hook.allowed_updates;
    if (hook.last_error_date) {
      info.last_error_date = hook.last_error_date;
      info.last_error_message = hook.last_error_message;
    }
  }
  return info;
}

function dropPending(token) {
  pendingUpdates(token).forEach((u) => { u.isRead = true; });
}

// Each handler gets {token, params, req, res} and returns the result (or throws ApiError).
const methods = {
  getMe: ({ token }) => ({
    ...botUser(token),
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
  }),

  async getUpdates({ token, params, res }) {
    if (webhooks.has(token)) {
      throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active;"
        + ' use deleteWebhook to delete the webhook first');
    }
    const offset = Number(params.offset) || 0;
    const limit = Math.min(Math.max(Number(params.limit) || 100, 1), 100);
    const timeout = Math.max(Number(params.timeout) || 0, 0);
    // Updates below offset are confirmed: gone for good.
    if (offset > 0) {
      tg.storage.userMessages.forEach((u) => {
        if (u.botToken === token && u.updateId < offset) u.isRead = true;
      });
    }
    const deadline = Date.now() + timeout * 1000;
    let updates = pendingUpdates(token, offset);
    let closed = false;
    res.once('close', () => { closed = true; });
    while (updates.length === 0 && !closed && Date.now() < deadline) {
      await waitForUserUpdate(deadline - Date.now(), res);
      updates = pendingUpdates(token, offset);
    }
    return updates.slice(0, limit).map(updateView);
  },

  sendMessage({ token, params }) {
    need(params, 'chat_id');
    if (params.text === undefined || String(params.text).trim() === '') {
      throw badRequest('message text is empty');
    }
    return addBotMessage(token, { ...params, text: String(params.text) });
  },

  sendDocument({ token, params, req }) {
    need(params, 'chat_id');
    const upload = (req.files || []).find((f) => f.fieldname === 'document');
    let document;
    if (upload) {
      document = storeFile(token, upload.buffer, upload.originalname, upload.mimetype);
    } else if (typeof params.document === 'string' && files.has(params.document)) {
      document = files.get(params.document).meta; // re-sending by file_id
    } else {
      throw badRequest('wrong file identifier/HTTP URL specified (upload a file or send a'
        + ' file_id the emulator knows)');
    }
    const message = { ...params, document };
    delete message.thumbnail;
    return addBotMessage(token, message);
  },

  getFile({ token, params }) {
    need(params, 'file_id');
    const file = files.get(params.file_id);
    if (!file || file.token !== token) throw badRequest('invalid file_id');
    const { file_id, file_unique_id, file_size } = file.meta;
    return { file_id, file_unique_id, file_size, file_path: file.path };
  },

  editMessageText: ({ token, params }) => editMessage(token, params, 'text'),
  editMessageReplyMarkup: ({ token, params }) => editMessage(token, params, 'markup'),

  deleteMessage({ token, params }) {
    need(params, 'chat_id', 'message_id');
    if (!deleteOne(token, params.chat_id, params.message_id)) {
      throw badRequest('message to delete not found');
    }
    return true;
  },

  deleteMessages({ token, params }) {
    need(params, 'chat_id', 'message_ids');
    if (!Array.isArray(params.message_ids)) throw badRequest('message_ids must be an array');
    params.message_ids.forEach((id) => deleteOne(token, params.chat_id, id));
    return true;
  },

  setWebhook({ token, params }) {
    if (!params.url) return methods.deleteWebhook({ token, params });
    if (!/^https?:\/\//.test(params.url)) throw badRequest('bad webhook: invalid URL');
    const secret = params.secret_token;
    if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
      throw badRequest('secret token contains unallowed characters');
    }
    if (flag(params.drop_pending_updates)) dropPending(token);
    webhooks.set(token, {
      url: params.url,
      secret_token: secret,
      max_connections: Number(params.max_connections) || 40,
      allowed_updates: params.allowed_updates,
    });
    setImmediate(() => pushUpdates(token)); // deliver what is already pending
    return true;
  },

  deleteWebhook({ token, params }) {
    webhooks.delete(token);
    if (flag(params.drop_pending_updates)) dropPending(token);
    return true;
  },

  getWebhookInfo: ({ token }) => webhookInfo(token),

  setMyCommands({ token, params }) {
    need(params, 'commands');
    if (!params.scope || params.scope.type === 'default') commands.set(token, params.commands);
    return true;
  },
  getMyCommands: ({ token, params }) => (
    !params.scope || params.scope.type === 'default' ? commands.get(token) || [] : []),
  deleteMyCommands({ token, params }) {
    if (!params.scope || params.scope.type === 'default') commands.delete(token);
    return true;
  },

  answerCallbackQuery: ({ params }) => { need(params, 'callback_query_id'); return true; },
  sendChatAction: ({ params }) => { need(params, 'chat_id', 'action'); return true; },
  setChatMenuButton: () => true,
  setMyDescription: () => true,
  setMyShortDescription: () => true,
};
// Telegram's method names are case-insensitive.
const methodByName = new Map(Object.entries(methods).map(([name, fn]) => [name.toLowerCase(), fn]));

// ---------------------------------------------------------------- webhook push (gap 9)
async function deliver(token, hook, update) {
  const headers = { 'content-type': 'application/json' };
  if (hook.secret_token) headers['X-Telegram-Bot-Api-Secret-Token'] = hook.secret_token;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    let error;
    try {
      const resp = await fetch(hook.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(updateView(update)),
        signal: AbortSignal.timeout(10000),
      });
      const body = await resp.arrayBuffer().catch(() => null);
      if (resp.ok) {
        update.isRead = true;
        await callFromWebhookAnswer(token, resp, body);
        return;
      }
      error = `Wrong response from the webhook: ${resp.status} ${resp.statusText}`;
    } catch (err) {
      error = `Connection failed: ${err.cause ? err.cause.message : err.message}`;
    }
    hook.last_error_date = nowSeconds();
    hook.last_error_message = error;
    log(`webhook ${hook.url}, update ${update.updateId}, attempt ${attempt}: ${error}`);
    if (webhooks.get(token) !== hook) return; // webhook changed meanwhile: leave it pending
    if (attempt < 3) await sleep(200 * attempt);
  }
  update.isRead = true; // given up: dropped, as reported by getWebhookInfo
}

// The call a webhook's answer carries, made as Telegram makes it (gap 10).
async function callFromWebhookAnswer(token, resp, body) {
  if (!body || !(resp.headers.get('content-type') || '').includes('application/json')) return;
  let answer;
  try {
    answer = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return;
  }
  if (!answer || typeof answer.method !== 'string') return;
  const { method, ...params } = answer;
  const handler = methodByName.get(method.toLowerCase());
  if (!handler) {
    log(`webhook answer: method '${method}' is not emulated`);
    return;
  }
  calls.push({ token, method, params, files: [], time: Date.now() / 1000 });
  try {
    await handler({ token, params, req: null, res: null });
  } catch (err) {
    log(`webhook answer ${method}: ${err.message || err}`);
  }
}

// Delivers a bot's pending updates one at a time, in order; one loop per webhook.
async function pushUpdates(token) {
  const hook = webhooks.get(token);
  if (!hook || hook.busy) return;
  hook.busy = true;
  try {
    while (webhooks.get(token) === hook) {
      const [next] = pendingUpdates(token);
      if (!next) break;
      await deliver(token, hook, next);
    }
  } finally {
    hook.busy = false;
  }
}
USER_EVENTS.forEach((event) => tg.on(event, () => {
  webhooks.forEach((_hook, token) => { pushUpdates(token); });
}));

// ---------------------------------------------------------------- the front app
// Uploaded bytes stay in memory.  httpx (PTB) sends UTF-8 file names without a charset tag.
const upload = multer({
  storage: multer.memoryStorage(),
  limits: { fileSize: 50 * 1024 * 1024 },
  defParamCharset: 'utf8',
});
const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '60mb' }));
app.use(express.urlencoded({ extended: true, limit: '60mb' }));

function answerError(res, err) {
  const code = err instanceof ApiError ? err.code : 500;
  if (!(err instanceof ApiError)) log(`internal error: ${err && err.stack}`);
  res.status(code).json({ ok: false, error_code: code, description: err.message || String(err) });
}

app.all('/bot:token/:method', upload.any(), async (req, res) => {
  const { token, method } = req.params;
  try {
    if (req.method !== 'GET' && req.method !== 'POST') {
      throw new ApiError(405, `Method Not Allowed: use GET or POST, not ${req.method}`);
    }
    const handler = methodByName.get(method.toLowerCase());
    if (!handler) {
      throw new ApiError(404, `Not Found: method '${method}' is not emulated`);
    }
    const params = readParams(req);
    if (method.toLowerCase() !== 'getupdates') {
      calls.push({
        token,
        method,
        params,
        files: (req.files || []).map((f) => ({
          field: f.fieldname, file_name: f.originalname, mime_type: f.mimetype, size: f.size,
        })),
        time: Date.now() / 1000,
      });
      if (verbose) log(`${method} ${JSON.stringify(params).slice(0, 300)}`);
    }
    const result = await handler({ token, params, req, res });
    if (!res.writableEnded) res.json({ ok: true, result: toBot(result) });
  } catch (err) {
    if (!res.writableEnded) answerError(res, err);
  }
});

app.get('/file/bot:token/*', (req, res) => {
  const filePath = req.params[0];
  const file = [...files.values()].find((f) => f.token === req.params.token && f.path === filePath);
  if (!file) {
    res.status(404).json({ ok: false, error_code: 404, description: 'Not Found' });
    return;
  }
  res.type(file.meta.mime_type).send(file.bytes);
});

// ---------------------------------------------------------------- client-side routes
// The package's client routes answer result:null; tell the test which ids its update got.
// (The package stores the update synchronously, with the counters' current values.)
app.post(['/sendMessage', '/sendCommand', '/sendCallback'], (req, res, next) => {
  const body = req.body || {};
  const isCallback = req.path === '/sendCallback';
  // The package asserts these inside un-awaited promises, which would kill the process.
  const missing = ['botToken', 'from', isCallback ? 'message' : 'chat']
    .concat(req.path === '/sendCommand' ? ['entities'] : [])
    .filter((key) => !body[key]);
  if (missing.length) {
    answerError(res, badRequest(`missing ${missing.join(', ')}`));
    return;
  }
  if (body.date === undefined) body.date = nowSeconds();
  const ids = isCallback
    ? { update_id: tg.updateId, callback_query_id: String(tg.callbackId) }
    : { update_id: tg.updateId, message_id: tg.messageId };
  const json = res.json.bind(res);
  res.json = (payload) => json(payload && payload.ok ? { ...payload, result: ids } : payload);
  next();
});

app.post('/sendDocument', upload.single('document'), async (req, res) => {
  try {
    let message;
    try {
      message = JSON.parse(req.body.message || '');
    } catch (err) {
      throw badRequest('field `message` must be the JSON message ({botToken, from, chat, ...})');
    }
    if (!message.botToken || !message.from || !message.chat) {
      throw badRequest('message needs botToken, from and chat');
    }
    if (!req.file) throw badRequest('file field `document` is missing');
    const document = storeFile(message.botToken, req.file.buffer, req.file.originalname,
      req.file.mimetype);
    const ids = { update_id: tg.updateId, message_id: tg.messageId, file_id: document.file_id };
    await tg.addUserMessage({ date: nowSeconds(), ...message, document });
    res.json({ ok: true, result: ids });
  } catch (err) {
    answerError(res, err);
  }
});

app.get('/botMessages', (req, res) => {
  const { token, chatId } = req.query;
  const messages = tg.storage.botMessages
    .filter((e) => e.botToken === token && String(e.message.chat_id) === String(chatId))
    .sort((a, b) => a.messageId - b.messageId)
    .map((e) => {
      const file = e.message.document && files.get(e.message.document.file_id);
      return {
        message: toBot(botView(e)),
        reply_markup: e.message.reply_markup || null,
        parse_mode: e.message.parse_mode || null,
        file_path: file ? file.path : null,
      };
    });
  res.json({
    ok: true,
    result: { messages, deleted_message_ids: deleted.get(`${token}|${chatId}`) || [] },
  });
});

app.get('/botCalls', (req, res) => {
  const { token, method } = req.query;
  res.json({
    ok: true,
    result: calls.filter((c) => c.token === token && (!method || c.method === method))
      .map(({ token: _t, ...call }) => call),
  });
});

// ---------------------------------------------------------------- the package's app, last
// Its answers without `ok` (its "Route not found", assertion errors) become Bot API errors.
app.use((req, res, next) => {
  const json = res.json.bind(res);
  res.json = (payload) => {
    if (payload && payload.ok === undefined && payload.message !== undefined) {
      const code = payload.message === 'Route not found' ? 404 : res.statusCode || 500;
      res.status(code);
      return json({ ok: false, error_code: code, description: payload.message });
    }
    return json(payload);
  };
  next();
});
app.use(tg.webServer);

// Errors from body parsers / multer / our own routes.
app.use((err, _req, res, _next) => {
  const code = err.code === 'LIMIT_FILE_SIZE' ? 413 : err.status || err.statusCode || 500;
  const description = code === 413 ? 'Request Entity Too Large' : `Bad Request: ${err.message}`;
  res.status(code).json({ ok: false, error_code: code, description });
});

// ---------------------------------------------------------------- listen and stop
const server = http.createServer(app);
server.keepAliveTimeout = 30000;
server.listen(opts.port, opts.host, () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});
server.on('error', (err) => {
  log(`cannot listen: ${err.message}`);
  process.exit(1);
});

function shutdown(signal) {
  if (verbose) log(`${signal}: stopping`);
  webhooks.clear();
  server.close(() => process.exit(0));
  server.closeAllConnections(); // long polls and keep-alive sockets
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
