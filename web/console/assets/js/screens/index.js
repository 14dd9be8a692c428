// The console's screens, in the order of the nav.
import * as rules from './rules.js';
import * as rulesConfigs from './rules_configs.js';
import * as actions from './actions.js';
import * as users from './users.js';
import * as logs from './logs.js';
import * as keys from './keys.js';
import * as clients from './clients.js';

export const screens = [rules, rulesConfigs, actions, users, logs, keys, clients];
