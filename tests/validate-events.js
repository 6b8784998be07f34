#!/usr/bin/env node
// See LICENSE file for copyright and license details.
//
// validate-events.js: checks vtcode's JSONL event streams against a JSON
// Schema (draft-07) with ajv, offline.
//
// usage: node tests/validate-events.js SCHEMA FILE...
//
// Each FILE ("-" for standard input) holds one JSON event a line; blank
// lines are skipped.  A line that is not JSON, or not valid against
// SCHEMA, is reported as "FILE:LINE: why", and the last line counts the
// events.  Exit status: 0 when every event is valid and there was at least
// one, 1 otherwise, 2 on a usage error (bad arguments, unreadable file,
// broken schema), 3 when no ajv can be loaded.
//
// ajv comes from wherever require() finds it, else from Debian's node-ajv
// in /usr/share/nodejs: a Node.js that is not Debian's own (NodeSource's,
// say) does not look there, so that directory is added to the search path
// here and no NODE_PATH is needed.
'use strict';

const fs = require('fs');
const Module = require('module');

const DEBIAN_DIRS = ['/usr/share/nodejs', '/usr/lib/nodejs'];

function die(code, msg) {
	process.stderr.write('validate-events: ' + msg + '\n');
	process.exit(code);
}

// ajv 6 exports the class itself, later ones also as .default
function ajvClass(m) {
	return m.default || m;
}

function loadAjv() {
	try {
		return ajvClass(require('ajv'));
	} catch (e) {
		if (e.code !== 'MODULE_NOT_FOUND')
			throw e;
	}
	// ajv's own dependencies (uri-js, fast-deep-equal, ...) live beside
	// it, so the directory goes on the global search path, not only on
	// this module's.
	const old = process.env.NODE_PATH ? process.env.NODE_PATH.split(':') : [];
	process.env.NODE_PATH = old.concat(DEBIAN_DIRS).join(':');
	if (typeof Module._initPaths === 'function')
		Module._initPaths();
	try {
		return ajvClass(require('ajv'));
	} catch (e) {
		if (e.code !== 'MODULE_NOT_FOUND')
			throw e;
		die(3, 'cannot load ajv (' + e.message.split('\n')[0] +
		    '): install Debian\'s node-ajv');
	}
}

// RFC 3339 in UTC with milliseconds, and a real instant: the schema's
// pattern checks the shape, this the calendar (no 2025-02-30, no 24:00).
const TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/;
function isTimestamp(s) {
	const m = TS.exec(s);
	if (!m)
		return false;
	const [y, mo, d, h, mi, sec, ms] = m.slice(1).map(Number);
	const t = new Date(Date.UTC(y, mo - 1, d, h, mi, sec, ms));
	return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 &&
	    t.getUTCDate() === d && t.getUTCHours() === h &&
	    t.getUTCMinutes() === mi && t.getUTCSeconds() === sec;
}

function makeValidator(Ajv, schemaPath) {
	let text, schema;
	try {
		text = fs.readFileSync(schemaPath, 'utf8');
	} catch (e) {
		die(2, schemaPath + ': ' + e.message);
	}
	try {
		schema = JSON.parse(text);
	} catch (e) {
		die(2, schemaPath + ': not JSON: ' + e.message);
	}
	// a misspelt keyword in the schema is an error, not ignored
	const major = Number(require('ajv/package.json').version.split('.')[0]);
	const opts = {allErrors: true};
	if (major <= 6)
		opts.strictKeywords = true;
	else
		opts.strictTypes = false;	// "if" names properties without a type
	const ajv = new Ajv(opts);
	ajv.addFormat('date-time', isTimestamp);
	let validate;
	try {
		validate = ajv.compile(schema);
	} catch (e) {
		die(2, schemaPath + ': bad schema: ' + e.message);
	}
	return {ajv, validate};
}

// What went wrong with one event, as ajv words it, less the summary
// errors that only repeat the real ones ('should match "then" schema')
// and the same fault found again by a second path through the schema.
function explain(ajv, errors) {
	let real = errors.filter((e) => e.keyword !== 'if');
	if (real.length === 0)
		real = errors;
	const once = new Set();
	real = real.filter((e) => {
		const key = (e.instancePath || e.dataPath) + ' ' + e.keyword + ' ' + e.message;
		if (once.has(key))
			return false;
		once.add(key);
		return true;
	});
	real = real.map((e) => {
		if (e.keyword === 'enum' && e.params && e.params.allowedValues)
			return Object.assign({}, e, {message: e.message + ': ' +
			    e.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')});
		if (e.keyword === 'additionalProperties' && e.params)
			return Object.assign({}, e, {message: 'has unexpected property ' +
			    JSON.stringify(e.params.additionalProperty)});
		return e;
	});
	return ajv.errorsText(real, {separator: '; ', dataVar: 'event'});
}

function main(argv) {
	if (argv.length < 2 || argv[0] === '-h' || argv[0] === '--help')
		die(2, 'usage: node validate-events.js SCHEMA FILE...');
	const Ajv = loadAjv();
	const {ajv, validate} = makeValidator(Ajv, argv[0]);
	let seen = 0, bad = 0;
	const out = [];
	for (const file of argv.slice(1)) {
		let text;
		try {
			text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
		} catch (e) {
			die(2, file + ': ' + e.message);
		}
		const lines = text.split('\n');
		for (let i = 0; i < lines.length; i++) {
			const line = lines[i];
			if (line.trim() === '')
				continue;
			seen++;
			const where = (file === '-' ? '<stdin>' : file) + ':' + (i + 1) + ': ';
			let ev;
			try {
				ev = JSON.parse(line);
			} catch (e) {
				bad++;
				out.push(where + 'not JSON: ' + e.message);
				continue;
			}
			if (!validate(ev)) {
				bad++;
				out.push(where + explain(ajv, validate.errors));
			}
		}
	}
	if (out.length)
		process.stdout.write(out.join('\n') + '\n');
	if (seen === 0) {
		console.log('0 events: nothing to validate');
		return 1;
	}
	if (bad) {
		console.log((seen - bad) + ' events valid, ' + bad + ' invalid');
		return 1;
	}
	console.log(seen + ' events valid');
	return 0;
}

process.exitCode = main(process.argv.slice(2));
