// openid-client as a confidential relying party authenticating with HTTP Basic (RFC 6749 2.3.1).
import { relyingPartyScenario } from '../lib/scenario.mjs';

relyingPartyScenario('basic');
