import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { runStoreConformance } from './message-store.conformance.js';

runStoreConformance('memory', async () => {
  const store = new MemoryStore();
  return {
    store,
    cleanup: async () => {
      await store.close();
    },
  };
});
