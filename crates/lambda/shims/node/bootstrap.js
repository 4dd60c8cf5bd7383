'use strict';
// Baton's runtime shim for nodejs functions.
//
// A small client of the AWS Lambda Runtime API, written for Baton: it loads the handler
// named by _HANDLER ("file.export", the file under LAMBDA_TASK_ROOT: .js, .cjs or .mjs),
// then loops: take the next invocation, call the handler (async or callback style),
// post the result or the error. Only Node's standard library is used.

const http = require('http');
const fs = require('fs');
const path = require('path');
const url = require('url');
const util = require('util');

const [HOST, PORT] = (() => {
  const api = process.env.AWS_LAMBDA_RUNTIME_API;
  const i = api.lastIndexOf(':');
  return [api.slice(0, i), Number(api.slice(i + 1))];
})();
const BASE = '/2018-06-01/runtime';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: HOST, port: PORT, path: BASE + p, method, agent, headers: headers || {} },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorBody(err, type) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    errorType: type || e.name || 'Error',
    errorMessage: e.message,
    trace: String(e.stack || '').split('\n'),
  };
}

async function postError(p, body) {
  await request('POST', p, JSON.stringify(body), {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': body.errorType,
  });
}

class InitError extends Error {
  constructor(type, message) {
    super(message);
    this.name = type;
  }
}

let currentRequestId;

function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [method, level] of Object.entries(levels)) {
    const stream = method === 'error' || method === 'warn' ? process.stderr : process.stdout;
    console[method] = (...args) => {
      const line = `${new Date().toISOString()}\t${currentRequestId || 'undefined'}\t${level}\t${util.format(...args)}`;
      stream.write(line.replace(/\n/g, '\r') + '\n');
    };
  }
}

async function loadHandler() {
  const spec = process.env._HANDLER || '';
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const dot = spec.lastIndexOf('.');
  if (dot <= 0 || dot === spec.length - 1) {
    throw new InitError('Runtime.MalformedHandlerName', `Bad handler ${spec}`);
  }
  const modulePath = spec.slice(0, dot);
  const exportPath = spec.slice(dot + 1);
  let mod;
  const base = path.resolve(root, modulePath);
  const found = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!found) {
    throw new InitError('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}'`);
  }
  try {
    if (found.endsWith('.mjs')) {
      mod = await import(url.pathToFileURL(found).href);
    } else {
      try {
        mod = require(found);
      } catch (e) {
        if (e && e.code === 'ERR_REQUIRE_ESM') mod = await import(url.pathToFileURL(found).href);
        else throw e;
      }
    }
  } catch (e) {
    if (e instanceof SyntaxError) throw new InitError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`);
    if (e && e.code === 'MODULE_NOT_FOUND') throw new InitError('Runtime.ImportModuleError', `Error: ${e.message}`);
    throw e;
  }
  let fn = mod;
  for (const part of exportPath.split('.')) fn = fn == null ? undefined : fn[part];
  if (typeof fn !== 'function') {
    throw new InitError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  }
  return fn;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  let clientContext;
  if (headers['lambda-runtime-client-context']) {
    try {
      clientContext = JSON.parse(headers['lambda-runtime-client-context']);
    } catch (_) {
      clientContext = undefined;
    }
  }
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

function callHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    context.done = done;
    context.succeed = (r) => done(null, r);
    context.fail = (e) => done(e || new Error('handled'));
    try {
      const out = handler(event, context, done);
      if (out && typeof out.then === 'function') out.then((r) => done(null, r), (e) => done(e));
      else if (handler.length < 3) done(null, out);
    } catch (e) {
      done(e);
    }
  });
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (e) {
    const body = errorBody(e, e instanceof InitError ? e.name : (e && e.name) || 'Error');
    process.stderr.write(`${body.errorType}: ${body.errorMessage}\n`);
    await postError('/init/error', body);
    process.exit(1);
  }
  for (;;) {
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) process.exit(0);
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    let event;
    try {
      event = next.body.length ? JSON.parse(next.body.toString('utf8')) : {};
    } catch (e) {
      await postError(`/invocation/${id}/error`, errorBody(e, 'Runtime.UnmarshalError'));
      continue;
    }
    try {
      const result = await callHandler(handler, event, makeContext(next.headers));
      const text = result === undefined ? 'null' : JSON.stringify(result);
      await request('POST', `/invocation/${id}/response`, text, { 'Content-Type': 'application/json' });
    } catch (e) {
      const body = errorBody(e);
      console.error('Invoke Error', JSON.stringify(body));
      await postError(`/invocation/${id}/error`, body);
    }
  }
}

main().catch(() => process.exit(0));
