// The storage provider's bucket: uploaded avatars kept in memory so the welcome page and the
// E2E suite can load the image URL a worker was given back.
export interface StoredAvatar {
  bytes: Buffer;
  contentType: string;
}

export interface AvatarStore {
  put(name: string, avatar: StoredAvatar): void;
  get(name: string): StoredAvatar | undefined;
  /** True when there was one to delete. */
  delete(name: string): boolean;
  clear(): void;
}

export function createAvatarStore(): AvatarStore {
  const avatars = new Map<string, StoredAvatar>();
  return {
    put: (name, avatar) => void avatars.set(name, avatar),
    get: (name) => avatars.get(name),
    delete: (name) => avatars.delete(name),
    clear: () => avatars.clear(),
  };
}
