import { requestJson } from './transport.js';

/**
 * A stand-in for `import method from '@salesforce/apex/<Class>.<method>'`.
 * Called imperatively it POSTs the named parameters to
 * `/apex/<Class>/<method>` and resolves the method's JSON result, or rejects
 * like an AuraHandledException does in Lightning: `{status, body: {message}}`.
 * Its `adapter` property makes it usable with `@wire` too, as cacheable Apex
 * methods are (`{data, error}` to the wired property).
 */
export function apexMethod(className, methodName) {
    const path = `/apex/${encodeURIComponent(className)}/${encodeURIComponent(
        methodName
    )}`;
    const invoke = (params = {}) => requestJson('POST', path, params);

    class ApexWireAdapter {
        constructor(dataCallback) {
            this.dataCallback = dataCallback;
            this.connected = false;
            this.config = undefined;
        }

        connect() {
            this.connected = true;
            if (this.config !== undefined) {
                this.fetch(this.config);
            }
        }

        disconnect() {
            this.connected = false;
        }

        update(config) {
            this.config = config || {};
            if (this.connected) {
                this.fetch(this.config);
            }
        }

        async fetch(config) {
            try {
                const data = await invoke(config);
                if (this.config === config) {
                    this.dataCallback({ data, error: undefined });
                }
            } catch (error) {
                if (this.config === config) {
                    this.dataCallback({ data: undefined, error });
                }
            }
        }
    }

    invoke.adapter = ApexWireAdapter;
    invoke.apexName = `${className}.${methodName}`;
    return invoke;
}
